import { readSlowFileOps } from '../../slow-file-ops.ts';
import type { ParseContext } from '../../tool.ts';
import type { Ext4slowerResult } from './result.ts';

/** The program prints fsslower's maps; the ext4 probes fill the file name, never a descriptor. */
export function parseExt4slower(stdout: string, params: { thresholdMs: number; maxOps: number }, ctx: ParseContext): Ext4slowerResult {
  return readSlowFileOps(stdout, params, ctx);
}
