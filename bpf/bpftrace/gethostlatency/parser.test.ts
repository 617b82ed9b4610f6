import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { gethostlatency } from './manifest.ts';
import { lookupError, parseHostsKey, parseProcessKey } from './parser.ts';
import { GethostlatencyResult } from './result.ts';
import type { ParseContext } from '../../tool.ts';
import { NO_MORE_CGROUPS } from '../../../test/helpers/cgroup-slots.ts';
import { recordingContext, toolFixture } from '../../../test/helpers/recordings.ts';

const fixture = (name: string): string => toolFixture('gethostlatency', name);

/** slow-dns-cgroup.json ran the lookups in cgroup /fixture-ghl (id 23), see fixtures/README.md. */
const context = () => recordingContext({ 23: '/fixture-ghl' });

const parse = (stdout: string, params: object = {}, ctx: ParseContext = context()) =>
  gethostlatency.parse(stdout, gethostlatency.params.parse(params), ctx).result;

const hist = (rows: Record<string, Array<{ min: number; max: number; count: number }>>) => JSON.stringify({ type: 'hist', data: { '@latency': rows } });
const map = (name: string, rows: Record<string, number>) => JSON.stringify({ type: 'map', data: { [name]: rows } });

describe('gethostlatency parser on recorded output', () => {
  it('reads slow and failing lookups of one process, by host name, slowest first', () => {
    const ctx = context();
    const result = parse(fixture('slow-dns-cgroup.json'), {}, ctx);
    expect(GethostlatencyResult.parse(result)).toEqual(result);
    expect(result).toMatchObject({ distinctProcesses: 1, totalLookups: 17, totalFailures: 5, maxUs: 347182 });
    const [p] = result.processes;
    expect(p).toMatchObject({ pid: 143, comm: 'dns,client', cgroupId: 23, cgroup: '/fixture-ghl', pod: null, lookups: 17, failures: 5, maxUs: 347182, distinctHosts: 3 });
    expect(p?.hosts).toEqual([
      { host: 'slow.th-test', lookups: 8, failures: 0, maxUs: 347182, errors: [] },
      { host: 'fail.th-test', lookups: 5, failures: 5, maxUs: 333958, errors: [{ error: 'EAI_NONAME', count: 5 }] },
      { host: 'localhost', lookups: 4, failures: 0, maxUs: 13111, errors: [] },
    ]);
    // The histogram: 13 lookups in [262144, 524287] µs (the 300 ms server), 4 fast ones from /etc/hosts.
    expect(p?.latency.count).toBe(17);
    expect(p?.latency.maxBucket).toEqual({ low: 262144, high: 524287 });
    // Estimates inside the [262144, 524287] bucket, clamped to the exact slowest lookup.
    expect(p?.latency.p99).toBe(347182);
    expect(p?.latency.p50).toBeGreaterThan(262144);
    expect(p?.latency.p50).toBeLessThanOrEqual(347182);
    expect(p?.latency.buckets.find((b) => b.low === 262144)?.count).toBe(13);
    expect(ctx.lookups).toEqual([23]);
  });

  it('keeps only the top host names, with the counts of all', () => {
    const result = parse(fixture('slow-dns-cgroup.json'), { hostsPerProcess: 1 });
    expect(result.processes[0]?.hosts.map((h) => h.host)).toEqual(['slow.th-test']);
    expect(result.processes[0]).toMatchObject({ distinctHosts: 3, failures: 5, lookups: 17 });
  });

  it('reports nothing when bpftrace printed only the completion marker', () => {
    expect(parse(fixture('no-lookups.json'))).toEqual({ processes: [], distinctProcesses: 0, totalLookups: 0, totalFailures: 0, maxUs: 0 });
  });
});

describe('gethostlatency parser edge cases', () => {
  it('names statuses: EAI codes, gethostbyname NULL, unknown codes', () => {
    expect(lookupError(0)).toBeNull();
    expect(lookupError(-3)).toBe('EAI_AGAIN');
    expect(lookupError(1)).toBe('FAILED');
    expect(lookupError(-77)).toBe('EAI_-77');
  });

  it('splits keys up to the text, which may hold commas, and refuses malformed ones', () => {
    expect(parseHostsKey('1,2,-2,a,b')).toEqual({ pid: 1, cgroupId: 2, status: -2, host: 'a,b' });
    expect(parseProcessKey('@latency', '1,2,x,y')).toEqual({ pid: 1, cgroupId: 2, text: 'x,y' });
    expect(() => parse(`${map('@hosts', { '1,2,host': 1 })}\n`)).toThrow(/expected "pid,cgroup,status,host"/);
    expect(() => parse(`${hist({ 'x,2,sh': [{ min: 1, max: 1, count: 1 }] })}\n`)).toThrow(/expected "pid,cgroup,comm"/);
  });

  it('orders processes slowest first, gives an exec\'ed process\'s hosts to its biggest row, drops orphans', () => {
    const out = [
      hist({
        '10,5,fast': [{ min: 4, max: 7, count: 3 }],
        '11,5,sh': [{ min: 2, max: 3, count: 1 }],
        '11,5,app': [{ min: 2048, max: 4095, count: 2 }],
      }),
      map('@hosts', { '10,5,0,a': 3, '11,5,0,b': 1, '11,5,-3,b': 2, '99,5,0,orphan': 1 }),
      map('@hostmax', { '10,5,a': 6, '11,5,b': 3000, '99,5,orphan': 9 }),
    ].join('\n');
    const result = parse(out);
    expect(result.processes.map((p) => [p.pid, p.comm, p.lookups, p.failures, p.maxUs, p.hosts.map((h) => h.host)])).toEqual([
      [11, 'app', 2, 2, 3000, ['b']],
      [10, 'fast', 3, 0, 6, ['a']],
      [11, 'sh', 1, 0, 0, []],
    ]);
    expect(result.processes[0]?.hosts[0]?.errors).toEqual([{ error: 'EAI_AGAIN', count: 2 }]);
    expect(result).toMatchObject({ totalLookups: 6, totalFailures: 2, maxUs: 3000, distinctProcesses: 3 });
    expect(parse(out, { maxProcesses: 1 }).processes).toHaveLength(1);
  });
});

describe('gethostlatency manifest', () => {
  it('validates params strictly', () => {
    expect(gethostlatency.params.parse({})).toEqual({ maxProcesses: 50, hostsPerProcess: 8 });
    expect(gethostlatency.params.safeParse({ hostsPerProcess: 0 }).success).toBe(false);
    expect(gethostlatency.params.safeParse({ host: 'example.com' }).success).toBe(false);
  });

  it('passes only the scope, as integers', () => {
    expect(gethostlatency.args(gethostlatency.params.parse({}), { cgroupIds: [23], pid: 143 })).toEqual(['23', '143', ...NO_MORE_CGROUPS]);
  });

  it('has one uprobe variant on libc, named without a path', () => {
    expect(gethostlatency.variants.map((v) => [v.name, v.requires])).toEqual([['uprobe', [{ kind: 'uprobe' }]]]);
    const source = readFileSync(gethostlatency.programFile, 'utf8');
    for (const fn of ['getaddrinfo', 'gethostbyname', 'gethostbyname2']) {
      expect(source).toContain(`uprobe:libc:${fn}`);
      expect(source).toContain(`uretprobe:libc:${fn}`);
    }
    expect(gethostlatency.env).toEqual({ BPFTRACE_STRLEN: '200' });
  });
});
