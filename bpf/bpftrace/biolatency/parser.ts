import { readCountMap } from '../../bpftrace-output.ts';
import { readHistMap, summarize } from '../../histogram.ts';
import { type DeviceNamer, splitDev } from '../../block-devices.ts';
import { BlockOp, type BiolatencyResult, type BiolatencyRow } from './result.ts';

/** dev,op → hist of device latencies in microseconds; dev,op → count of completions with an error. */
export const MAP_NAME = '@usecs';
export const ERRORS_MAP = '@errors';

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

/** `deviceName` is injected so that parsing stays pure: the manifest passes a sysfs reader. */
export function parseBiolatency(stdout: string, deviceName: DeviceNamer): BiolatencyResult {
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
  return {
    unit: 'us',
    rows,
    totalRequests: rows.reduce((sum, r) => sum + r.count, 0),
    totalErrors: rows.reduce((sum, r) => sum + r.errors, 0),
  };
}
