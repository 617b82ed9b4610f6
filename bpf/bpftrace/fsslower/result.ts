/** fsslower's result: the only home of its schema and types. Its shape is shared with ext4slower (bpf/slow-file-ops.ts). */
import type { z } from 'zod';
import { SlowFileOpsResult } from '../../slow-file-ops.ts';

export { FileOp, SlowFileOp, SlowFileOpGroup } from '../../slow-file-ops.ts';
export const FsslowerResult = SlowFileOpsResult;
export type FsslowerResult = z.infer<typeof FsslowerResult>;
