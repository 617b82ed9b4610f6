import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Investigation } from '../../src/core/investigation.ts';
import type { Inventory } from '../../src/inventory/inventory.ts';
import { registerPodKernelSeries } from '../../src/metrics/pod-kernel-series.ts';
import type { InvestigationRecords } from '../../src/records/investigation-records.ts';
import type { ScheduleStore } from '../../src/schedules/schedule-store.ts';
import { capPods, podKernelFigures, podNamer, type NodeKernelFigures, type PodName } from '../../src/sweeps/pod-figures.ts';

/** The playbook whose scheduled runs are the sweeps (as entry/orchestrator.ts names it for triage). */
const HEALTH_SWEEP = 'health-sweep';
/** A schedule's latest run may still be running or have failed: the newest succeeded of its last few counts. */
const RECENT_RUNS = 5;
/** Above every investigation id (`inv_…`): previousRuns lists the runs before it, i.e. all of them. */
const AFTER_EVERY_ID = '~';

export interface SweepMetricsOptions {
  schedules: ScheduleStore;
  records: InvestigationRecords;
  inventory: Inventory | null;
  /** SWEEP_METRICS_TOP_PODS. */
  topPods: number;
  registry: Registry;
  log: Logger;
}

/**
 * Serves the latest health sweeps' per-pod kernel figures on /metrics (src/metrics/pod-kernel-series.ts). At each
 * scrape it reads which sweeps are the latest (a few Redis reads); the figures, and the inventory's pods that name
 * the cgroups, are read again only when a newer sweep finished. Per node, the newest sweep that measured it wins.
 */
export function startSweepMetrics(opts: SweepMetricsOptions): { close(): void } {
  const log = opts.log.child({ part: 'sweep-metrics' });
  let cached: { key: string; figures: NodeKernelFigures[] } | null = null;

  const latestSweeps = async (): Promise<Investigation[]> => {
    const sweeps = (await opts.schedules.list()).filter((s) => s.playbook === HEALTH_SWEEP);
    const latest = await Promise.all(
      sweeps.map(async (s) => {
        for (const id of await opts.schedules.previousRuns(s.name, AFTER_EVERY_ID, RECENT_RUNS)) {
          const inv = await opts.records.find(id);
          if (inv?.status === 'succeeded') return inv;
        }
        return null;
      }),
    );
    return latest.filter((i): i is Investigation => i !== null).sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
  };

  /** null: the inventory did not answer (then the figures are not cached, and the next scrape asks again). */
  const podsByUid = async (node: string): Promise<Map<string, PodName> | null> => {
    if (!opts.inventory?.podsOnNode) return new Map();
    try {
      const pods = await opts.inventory.podsOnNode(node);
      return new Map(pods.map((p) => [p.uid, { namespace: p.namespace, name: p.name }]));
    } catch (err) {
      // Without names only the rows the agent named (pod targets) become pods, until the inventory answers again.
      log.warn({ err, node }, 'could not list the pods of the node to name its cgroups');
      return null;
    }
  };

  const figures = async (): Promise<NodeKernelFigures[]> => {
    const sweeps = await latestSweeps();
    const key = sweeps.map((s) => s.id).join(',');
    if (cached?.key === key) return cached.figures;
    const byNode = new Map<string, NodeKernelFigures>();
    let complete = true;
    for (const inv of sweeps) {
      const nodes = [...new Set(inv.steps.flatMap((s) => (s.node === null || byNode.has(s.node) ? [] : [s.node])))];
      const names = new Map(
        await Promise.all(
          nodes.map(async (n) => {
            const byUid = await podsByUid(n);
            if (byUid === null) complete = false;
            return [n, podNamer(byUid ?? new Map())] as const;
          }),
        ),
      );
      for (const f of podKernelFigures(inv, (node) => names.get(node) ?? podNamer(new Map()))) {
        if (!byNode.has(f.node)) byNode.set(f.node, capPods(f, opts.topPods));
      }
    }
    const out = [...byNode.values()].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
    cached = complete ? { key, figures: out } : null;
    return out;
  };

  const unregister = registerPodKernelSeries(opts.registry, async () => {
    try {
      return await figures();
    } catch (err) {
      log.warn({ err }, 'could not read the latest health sweeps for /metrics');
      throw err;
    }
  });
  return { close: unregister };
}
