import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { Playbook } from '../core/playbooks/playbook.ts';
import type { Inventory } from '../inventory/inventory.ts';
import type { NodeRegistry } from '../inventory/node-registry.ts';
import type { InvestigationRecords } from '../queue/investigation-records.ts';
import type { ArtifactStore } from '../storage/artifact-store.ts';

/** Everything the API needs from the outside world, injected so tests run it against real Redis and S3. */
export interface ApiDeps {
  playbooks: readonly Playbook[];
  /** Resolves pods and selectors at request time, so an unknown pod is a 404 before anything is queued. */
  inventory: Inventory | null;
  records: InvestigationRecords;
  investigations: Queue;
  registry: NodeRegistry;
  store: ArtifactStore;
  pingRedis(): Promise<void>;
  log: Logger;
}
