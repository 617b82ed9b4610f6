import { readCountMap } from '../../bpftrace-output.ts';
import { readHistMap, summarize } from '../../histogram.ts';
import { type DeviceNamer, splitDev } from '../../block-devices.ts';
import { BlockOp, type BiolatencyCgroup, type BiolatencyResult, type BiolatencyRow } from './result.ts';

/** dev,op → hist of device latencies in microseconds; dev,op → count of completions with an error. */
export const MAP_NAME = '@usecs';
export const ERRORS_MAP = '@errors';
/** Submitter's cgroup id → hist of the same device latencies. */
export const CGROUP_MAP = '@cgusecs';

/** The program's op codes index this list (result.ts keeps it in their order). */
const OPS = BlockOp.options;

const KEY = /^(\d+),(\d+)$/;

export function parseDevOpKey(mapName: string, key: string): { major: number; minor: number; op: BlockOp } {
  const m = KEY.exec(key);
  const op = m === null ? undefined : OPS[Number(m[2])];
  if (m === null || op === undefined) throw new Error(`unexpected ${mapName} key ${JSON.stringify(key)}: expected "dev,op" with op 0-${OPS.length - 1}`);
  return { ...splitDev(Number(m[1])), op };
}

function byTailThenCount(a: BiolatencyRow, b: BiolatencyRow): number {
  return (
    (b.p99 ?? -1) - (a.p99 ?? -1) ||
    b.count - a.count ||
    a.major - b.major ||
    a.minor - b.minor ||
    OPS.indexOf(a.op) - OPS.indexOf(b.op)
  );
}

/** `deviceName` and `cgroupPathOf` are injected so that parsing stays pure: the manifest passes the node's readers. */
export function parseBiolatency(stdout: string, deviceName: DeviceNamer, cgroupPathOf: (id: number) => string | null = () => null): BiolatencyResult {
  const errors = new Map<string, number>();
  for (const [key, n] of Object.entries(readCountMap(stdout, ERRORS_MAP))) {
    parseDevOpKey(ERRORS_MAP, key);
    errors.set(key, n);
  }
  const rows = Object.entries(readHistMap(stdout, MAP_NAME, 'us')).map(([key, h]): BiolatencyRow => {
    const { major, minor, op } = parseDevOpKey(MAP_NAME, key);
    return { device: deviceName(major, minor), major, minor, op, errors: errors.get(key) ?? 0, ...summarize(h) };
  });
  rows.sort(byTailThenCount);
  const cgroups = Object.entries(readHistMap(stdout, CGROUP_MAP, 'us')).map(([key, h]): BiolatencyCgroup => {
    if (!/^\d+$/.test(key)) throw new Error(`unexpected ${CGROUP_MAP} key ${JSON.stringify(key)}: expected a cgroup id`);
    const cgroupId = Number(key);
    // Naming the pod behind a cgroup needs the node's pod inventory: the agent or the exporter does it.
    return { cgroupId, cgroup: cgroupPathOf(cgroupId), pod: null, ...summarize(h) };
  });
  cgroups.sort((a, b) => b.count - a.count || a.cgroupId - b.cgroupId);
  return {
    unit: 'us',
    rows,
    totalRequests: rows.reduce((sum, r) => sum + r.count, 0),
    totalErrors: rows.reduce((sum, r) => sum + r.errors, 0),
    ...(cgroups.length > 0 ? { cgroups } : {}),
  };
}
