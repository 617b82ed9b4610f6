import { readSlowFileOps } from '../../slow-file-ops.ts';
import type { ParseContext } from '../../tool.ts';
import type { FsslowerResult } from './result.ts';

/** Both variants print the same maps (program.bt, program.kprobe.bt); they differ in which fields they fill. */
export function parseFsslower(stdout: string, params: { thresholdMs: number; maxOps: number }, ctx: ParseContext): FsslowerResult {
  return readSlowFileOps(stdout, params, ctx);
}
