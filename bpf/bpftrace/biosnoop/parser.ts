import { readCountMap } from '../../bpftrace-output.ts';
import { readHistMap, summarize } from '../../histogram.ts';
// The dev_t split and sysfs naming biolatency uses; a lower shared file would be their better home.
import { type DeviceNamer, splitDev } from '../../block-devices.ts';
import { BioOp, type BioGroup, type BioRequest, type BiosnoopResult } from './result.ts';

/** Maps the program fills, printed at SIGINT. Aggregates are keyed "op,dev,pid,comm". */
export const MAPS = {
  requests: '@requests',
  bytes: '@bytes',
  usecs: '@usecs',
  maxUs: '@max_us',
  errors: '@errors',
  /** "us,op,dev,sector,bytes,error,pid,comm" → count (equal requests share a key). */
  slow: '@slow',
  over: '@over',
} as const;

const OPS = BioOp.options;

/** comm is the last key part and may itself hold commas: the tail takes the rest. */
const GROUP_KEY = /^(\d+),(\d+),(\d+),(.*)$/s;
const SLOW_KEY = /^(\d+),(\d+),(\d+),(\d+),(\d+),(-?\d+),(\d+),(.*)$/s;

interface GroupKey {
  op: BioOp;
  dev: number;
  pid: number;
  comm: string;
}

function opOf(map: string, key: string, code: string): BioOp {
  const op = OPS[Number(code)];
  if (op === undefined) throw new Error(`unexpected ${map} key ${JSON.stringify(key)}: op ${code} is not 0-${OPS.length - 1}`);
  return op;
}

export function parseGroupKey(map: string, key: string): GroupKey {
  const m = GROUP_KEY.exec(key);
  if (m === null) throw new Error(`unexpected ${map} key ${JSON.stringify(key)}: expected "op,dev,pid,comm"`);
  const [, op = '', dev = '', pid = '', comm = ''] = m;
  return { op: opOf(map, key, op), dev: Number(dev), pid: Number(pid), comm };
}

export function parseSlowKey(key: string): Omit<BioRequest, 'device' | 'major' | 'minor'> & { dev: number } {
  const m = SLOW_KEY.exec(key);
  if (m === null) throw new Error(`unexpected ${MAPS.slow} key ${JSON.stringify(key)}: expected "us,op,dev,sector,bytes,error,pid,comm"`);
  const [, us = '', op = '', dev = '', sector = '', bytes = '', error = '', pid = '', comm = ''] = m;
  return {
    latencyUs: Number(us),
    op: opOf(MAPS.slow, key, op),
    dev: Number(dev),
    sector: Number(sector),
    bytes: Number(bytes),
    error: Number(error),
    pid: Number(pid),
    comm,
  };
}

function readScalar(stdout: string, map: string): number {
  // A scalar map prints as {"@over": n}; readCountMap reads keyed maps, so look for the number directly.
  let value = 0;
  for (const line of stdout.split('\n')) {
    if (!line.includes(`"${map}"`)) continue;
    const doc = JSON.parse(line) as { type?: string; data?: Record<string, unknown> };
    const v = doc.type === 'map' ? doc.data?.[map] : undefined;
    if (typeof v === 'number') value = v;
  }
  return value;
}

export interface BiosnoopLimits {
  minLatencyUs: number;
  maxRequests: number;
  maxGroups: number;
}

/** `deviceName` is injected so that parsing stays pure: the manifest passes a sysfs reader. */
export function parseBiosnoop(stdout: string, limits: BiosnoopLimits, deviceName: DeviceNamer): BiosnoopResult {
  const device = (dev: number) => {
    const { major, minor } = splitDev(dev);
    return { device: deviceName(major, minor), major, minor };
  };
  const counts = readCountMap(stdout, MAPS.requests);
  const bytes = readCountMap(stdout, MAPS.bytes);
  const maxUs = readCountMap(stdout, MAPS.maxUs);
  const errors = readCountMap(stdout, MAPS.errors);
  const hists = readHistMap(stdout, MAPS.usecs, 'us');
  for (const [map, m] of [[MAPS.bytes, bytes], [MAPS.maxUs, maxUs], [MAPS.errors, errors]] as const) {
    for (const key of Object.keys(m)) {
      if (!Object.hasOwn(counts, key)) throw new Error(`${map} key ${JSON.stringify(key)} has no ${MAPS.requests} entry`);
    }
  }

  const groups = Object.entries(counts).map(([key, count]): BioGroup => {
    const k = parseGroupKey(MAPS.requests, key);
    const hist = hists[key];
    if (hist === undefined) throw new Error(`${MAPS.requests} key ${JSON.stringify(key)} has no ${MAPS.usecs} histogram`);
    const summary = summarize(hist);
    if (summary.count !== count) throw new Error(`${MAPS.usecs}[${key}] holds ${summary.count} requests, ${MAPS.requests} ${count}`);
    return {
      pid: k.pid,
      comm: k.comm,
      ...device(k.dev),
      op: k.op,
      bytes: bytes[key] ?? 0,
      errors: errors[key] ?? 0,
      maxUs: maxUs[key] ?? 0,
      ...summary,
    };
  });
  groups.sort((a, b) => b.maxUs - a.maxUs || b.count - a.count || a.pid - b.pid || a.major - b.major || a.minor - b.minor || OPS.indexOf(a.op) - OPS.indexOf(b.op));

  const requests: BioRequest[] = [];
  for (const [key, n] of Object.entries(readCountMap(stdout, MAPS.slow))) {
    const { dev, ...r } = parseSlowKey(key);
    for (let i = 0; i < n; i++) requests.push({ ...r, ...device(dev) });
  }
  requests.sort((a, b) => b.latencyUs - a.latencyUs || a.major - b.major || a.minor - b.minor || a.sector - b.sector || a.pid - b.pid);

  return {
    unit: 'us',
    minLatencyUs: limits.minLatencyUs,
    requests: requests.slice(0, limits.maxRequests),
    slowRequests: readScalar(stdout, MAPS.over),
    groups: groups.slice(0, limits.maxGroups),
    distinctGroups: groups.length,
    totalRequests: groups.reduce((s, g) => s + g.count, 0),
    totalBytes: groups.reduce((s, g) => s + g.bytes, 0),
    totalErrors: groups.reduce((s, g) => s + g.errors, 0),
  };
}
