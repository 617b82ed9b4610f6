import type { FlowProducer, Queue } from 'bullmq';
import type { Logger } from 'pino';
import { isTerminal, type Investigation } from '../../src/core/investigation.ts';
import type { Playbook } from '../../src/playbooks/playbook.ts';
import type { Inventory } from '../../src/inventory/inventory.ts';
import type { NodeRegistry } from '../../src/inventory/node-registry.ts';
import type { InvestigationRecords, RecordVersion } from '../../src/records/investigation-records.ts';
import type { ArtifactStore } from '../../src/storage/artifact-store.ts';
import type { ReportRequests } from './reports.ts';
import type { CaptureWatchdog } from './watchdog.ts';

/** What the orchestrator tells the rest of the system; failures here never fail an investigation. */
export interface OrchestratorHooks {
  /** Status or steps changed ('progress'), or the investigation ended ('final'): notifications. */
  changed?(id: string, event: 'progress' | 'final'): Promise<void>;
  /** Whether someone will be sent pictures of this investigation (chat): then agents store PNG thumbnails too. */
  wantsThumbnails?(id: string): Promise<boolean>;
  /** Earlier finished runs of the same schedule, newest first: what a sweep is compared with. */
  previousRuns?(inv: Investigation): Promise<Investigation[]>;
  /** The latest succeeded health sweeps (scheduled `health-sweep` runs) before `inv`: the usual a triage compares with. */
  healthSweeps?(inv: Investigation): Promise<Investigation[]>;
  /**
   * Starts `playbook` on the same target for the same requester, through the one door, as chained from `from`
   * (chain.ts). Throws the door's typed errors (refused, rate-limited…).
   */
  chain?(from: Investigation, playbook: string): Promise<Investigation>;
}

/** What dispatch, collect and finish share: built once per orchestrator (orchestrator.ts). */
export interface RunContext {
  playbooks: readonly Playbook[];
  inventory: Inventory | null;
  records: InvestigationRecords;
  registry: NodeRegistry;
  /** Adds a step's capture jobs to their nodes' queues in one transaction, whatever the fleet's size. */
  flows: FlowProducer;
  captureQueue(node: string): Queue;
  watchdog: CaptureWatchdog;
  store: ArtifactStore;
  /** Report files to store later. */
  reports: ReportRequests;
  log: Logger;
  hooks: OrchestratorHooks;
}

/** The record ended while its run was at work (reaped, or ended by the failed-job handler): the run stops there. */
export class RecordEnded extends Error {}

export const now = () => new Date().toISOString();

export async function tell(ctx: RunContext, id: string, event: 'progress' | 'final'): Promise<void> {
  try {
    await ctx.hooks.changed?.(id, event);
  } catch (err) {
    ctx.log.warn({ err, investigation: id }, 'could not queue a notification');
  }
}

/**
 * Writes a change to a record still in progress; throws RecordEnded when it ended meanwhile (the run stops). The run
 * carries the version it last wrote, so a record of thousands of steps is not read back before each write.
 */
export async function advance(ctx: RunContext, known: RecordVersion, change: (current: Investigation) => Investigation): Promise<RecordVersion> {
  const next = await ctx.records.updateFrom(known, known.inv.id, (cur) => (isTerminal(cur.status) ? null : change(cur)));
  if (!next) throw new RecordEnded(`investigation ${known.inv.id} ended meanwhile`);
  return next;
}
