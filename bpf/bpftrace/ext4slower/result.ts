/** ext4slower's result: the only home of its schema and types. Its shape is fsslower's (bpf/slow-file-ops.ts). */
import type { z } from 'zod';
import { SlowFileOpsResult } from '../../slow-file-ops.ts';

export { FileOp, SlowFileOp, SlowFileOpGroup } from '../../slow-file-ops.ts';
export const Ext4slowerResult = SlowFileOpsResult;
export type Ext4slowerResult = z.infer<typeof Ext4slowerResult>;
