import type { Logger } from 'pino';
import { recoverAbandonedFtraceLock, type LockOptions } from '../../bpf/tracefs/funcgraph/tracefs.ts';

/**
 * Start-up step of the agent: a funcgraph capture killed with its agent leaves the node's tracefs changed
 * (function_graph, tracing_on, filters, pid list); this puts it back and says what it restored. Never fails the
 * start-up: an agent that cannot restore ftrace can still run every bpftrace tool, and the next funcgraph capture
 * tries again (and fails with the reason if it still cannot).
 */
export async function restoreFtraceLeftByDeadAgent(log: Logger, opts: LockOptions = {}): Promise<void> {
  try {
    const r = await recoverAbandonedFtraceLock(opts);
    if (r.status === 'in-use') log.info({ reason: r.reason }, 'ftrace lock held by a live process: left alone');
    if (r.status === 'recovered') {
      log.warn(
        { pid: r.pid, since: r.createdAt, tracefs: r.restored?.tracefs, restored: r.restored?.files ?? [] },
        r.restored ? 'a capture died without restoring ftrace: restored the state it had saved' : 'removed an ftrace lock left by a dead process (nothing to restore)',
      );
    }
  } catch (err) {
    log.error({ err }, 'ftrace left changed by a dead capture could not be restored; the next funcgraph capture will try again');
  }
}
