/**
 * A descriptor a failing syscall was given, resolved to its file when the capture ends. Its own file because two
 * rooms need it: syscount's result (which lists them) and the tool contract's ParseContext (the agent resolves them).
 */
import { z } from 'zod';

/** A file descriptor the failing syscall was given (write(2), fallocate(2), fsync(2)…), resolved at capture end. */
export const FailingFile = z.object({
  fd: z.number().int(),
  /** Failures of this row's syscall on this descriptor. */
  count: z.number().int(),
  /**
   * What /proc/<pid>/fd/<fd> pointed at when the capture ended, as the process sees it (its mount namespace):
   * a path ("/var/lib/app/data.log", " (deleted)" stripped), or "pipe:[…]", "socket:[…]"; null unless `open`.
   */
  path: z.string().nullable(),
  /** `open`: resolved; `closed`: the process closed it before the capture ended; `exited`: the process is gone. */
  state: z.enum(['open', 'closed', 'exited']),
  /** The file had been unlinked: it still takes space until closed. */
  deleted: z.boolean().default(false),
});
export type FailingFile = z.infer<typeof FailingFile>;

/** Where a descriptor points when the capture ends: a failing file without its descriptor and count. */
export type FileResolution = Pick<FailingFile, 'path' | 'state' | 'deleted'>;
