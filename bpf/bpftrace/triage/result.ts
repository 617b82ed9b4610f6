/** triage's result: each checklist tool's own result, under its name (the only home of this composite's schema). */
import { z } from 'zod';
import { BiolatencyResult } from '../biolatency/result.ts';
import { ExecsnoopResult } from '../execsnoop/result.ts';
import { OomkillResult } from '../oomkill/result.ts';
import { ProfileResult } from '../profile/result.ts';
import { RunqlatResult } from '../runqlat/result.ts';
import { SyscountResult } from '../syscount/result.ts';
import { TcpconnectResult } from '../tcpconnect/result.ts';
import { TcpretransResult } from '../tcpretrans/result.ts';

/** The parts, in order, with their prefixes: parts.ts is their home (join.ts and parser.ts read them there too). */
export { TRIAGE_PARTS, type TriagePart } from './parts.ts';

/** Each part's result is exactly what its own tool would have stored: the same schema, the same rows. */
export const TriageResult = z.object({
  syscount: SyscountResult,
  runqlat: RunqlatResult,
  biolatency: BiolatencyResult,
  tcpretrans: TcpretransResult,
  tcpconnect: TcpconnectResult,
  oomkill: OomkillResult,
  execsnoop: ExecsnoopResult,
  profile: ProfileResult,
});
export type TriageResult = z.infer<typeof TriageResult>;
