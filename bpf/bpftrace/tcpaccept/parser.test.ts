import { readFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tcpaccept } from './manifest.ts';
import { TcpacceptResult } from './result.ts';
import type { ParseContext } from '../../tool.ts';
import { NO_MORE_CGROUPS } from '../../../test/helpers/cgroup-slots.ts';
import { recordingContext, toolFixture } from '../../../test/helpers/recordings.ts';

const fixture = (name: string): string => toolFixture('tcpaccept', name);

/** Both recordings ran in a Debian 13 (6.12) guest, the workload in /th-tcpaccept: id 46 (tracepoint), 64 (kprobe). */
const context = () => recordingContext({ 46: '/th-tcpaccept', 64: '/th-tcpaccept' });

const parse = (stdout: string, params: object = {}, ctx: ParseContext = context()) =>
  tcpaccept.parse(stdout, tcpaccept.params.parse(params), ctx).result;

const doc = (maps: Record<string, unknown>): string => `${JSON.stringify({ type: 'map', data: maps })}\n`;

describe('tcpaccept parser on recorded output', () => {
  it('tracepoint variant: handshakes, accepts and accept-queue waits; overflows unknown', () => {
    const ctx = context();
    const result = parse(fixture('loopback-cgroup.json'), {}, ctx);
    expect(TcpacceptResult.parse(result)).toEqual(result);
    const cg = { cgroupId: 46, cgroup: '/th-tcpaccept' };
    expect(result.listeners).toEqual([
      // The dual-stack listener: 3 IPv4 (v4-mapped, so AF_INET6 children) and 1 IPv6 connection, all accepted.
      { family: 'ipv6', port: 48437, ...cg, handshakes: 4, accepted: 4, overflows: null, backlog: null },
      // The backlog-0 listener: its one connection was never accepted.
      { family: 'ipv4', port: 39149, ...cg, handshakes: 1, accepted: 0, overflows: null, backlog: null },
    ]);
    // The workload accepted 100 ms after the last handshake: all four waits in [65.5 ms, 131 ms).
    expect(result.acceptors).toEqual([
      {
        comm: 'python3', pid: 426, family: 'ipv6', port: 48437, ...cg, accepted: 4, maxWaitUs: 121056,
        waitUs: { count: 4, p50: 98304, p90: 124518.4, p99: 130416.6, mean: 98304, maxBucket: { low: 65536, high: 131071 }, buckets: [{ low: 65536, high: 131071, count: 4 }] },
      },
    ]);
    expect(result).toMatchObject({ handshakes: 5, accepted: 4, overflows: null, distinctListeners: 2, distinctAcceptors: 1 });
    expect(result.waitUs?.count).toBe(4);
    // The outsider's listener (port 52961), in another cgroup, was filtered out in the kernel.
    expect(result.listeners.some((l) => l.port === 52961)).toBe(false);
    expect(ctx.lookups).toEqual([46]);
  });

  it('kprobe variant: the SYNs dropped on the full accept queue, with its backlog', () => {
    const result = parse(fixture('kprobe-loopback-cgroup.json'));
    expect(TcpacceptResult.parse(result)).toEqual(result);
    const cg = { cgroupId: 64, cgroup: '/th-tcpaccept' };
    // Most overflows first: the backlog-0 listener dropped the timed-out connect's 3 SYNs.
    expect(result.listeners).toEqual([
      { family: 'ipv4', port: 60763, ...cg, handshakes: 1, accepted: 0, overflows: 3, backlog: 0 },
      { family: 'ipv6', port: 54279, ...cg, handshakes: 4, accepted: 4, overflows: 0, backlog: null },
    ]);
    expect(result.acceptors).toEqual([expect.objectContaining({ comm: 'python3', pid: 541, port: 54279, accepted: 4, maxWaitUs: 154428 })]);
    expect(result.acceptors[0]?.waitUs?.buckets).toEqual([{ low: 65536, high: 131071, count: 1 }, { low: 131072, high: 262143, count: 3 }]);
    expect(result).toMatchObject({ handshakes: 5, accepted: 4, overflows: 3 });
    expect(result.listeners.some((l) => l.port === 59571)).toBe(false);
  });

  it('keeps only the top rows', () => {
    const result = parse(fixture('kprobe-loopback-cgroup.json'), { maxRows: 1 });
    expect(result.listeners.map((l) => l.port)).toEqual([60763]);
    expect(result).toMatchObject({ distinctListeners: 2, distinctAcceptors: 1, overflows: 3 });
  });

  it('reports nothing, overflows 0, when the kprobe variant saw no connection', () => {
    expect(parse(fixture('no-accepts.json'))).toEqual({
      handshakes: 0, accepted: 0, overflows: 0, waitUs: null, listeners: [], distinctListeners: 0, acceptors: [], distinctAcceptors: 0,
    });
  });
});

describe('tcpaccept parser edge cases', () => {
  it('keeps commas in comm and leaves overflows unknown without the kprobe marker', () => {
    const result = parse(
      doc({ '@accepted': { '2,8080,0,7,web,acceptor': 2 } }) + doc({ '@handshakes': { '2,8080,0': 3 } }) + doc({ '@complete': 1 }),
    );
    expect(result).toMatchObject({ handshakes: 3, accepted: 2, overflows: null, waitUs: null, distinctListeners: 1, distinctAcceptors: 1 });
    expect(result.listeners).toEqual([{ family: 'ipv4', port: 8080, cgroupId: 0, cgroup: null, handshakes: 3, accepted: 2, overflows: null, backlog: null }]);
    expect(result.acceptors).toEqual([
      { comm: 'web,acceptor', pid: 7, family: 'ipv4', port: 8080, cgroupId: 0, cgroup: null, accepted: 2, waitUs: null, maxWaitUs: null },
    ]);
  });

  it('counts overflows as 0 where the kprobe variant saw none', () => {
    const result = parse(doc({ '@handshakes': { '10,443,0': 1 } }) + doc({ '@overflows_counted': 1 }));
    expect(result.overflows).toBe(0);
    expect(result.listeners[0]).toMatchObject({ port: 443, overflows: 0, backlog: null });
  });

  it('refuses malformed keys and families', () => {
    expect(() => parse(doc({ '@handshakes': { '2,80': 1 } }))).toThrow(/expected "family,port,cgroup"/);
    expect(() => parse(doc({ '@accepted': { '2,80,0': 1 } }))).toThrow(/expected "family,port,cgroup,pid,comm"/);
    expect(() => parse(doc({ '@handshakes': { '1,80,0': 1 } }))).toThrow(/address family 1/);
  });

  it('is empty for empty output', () => {
    expect(parse('')).toEqual({
      handshakes: 0, accepted: 0, overflows: null, waitUs: null, listeners: [], distinctListeners: 0, acceptors: [], distinctAcceptors: 0,
    });
  });
});

describe('tcpaccept manifest', () => {
  it('validates params strictly', () => {
    expect(tcpaccept.params.parse({})).toEqual({ maxRows: 50 });
    expect(tcpaccept.params.safeParse({ maxRows: 0 }).success).toBe(false);
    expect(tcpaccept.params.safeParse({ port: 80 }).success).toBe(false);
  });

  it('passes the cgroup set and the pid', () => {
    expect(tcpaccept.args({ maxRows: 50 }, { cgroupIds: [77], pid: 0 })).toEqual(['77', '0', ...NO_MORE_CGROUPS]);
    expect(tcpaccept.args({ maxRows: 50 }, { cgroupIds: [], pid: 4242 })).toEqual(['0', '4242', ...NO_MORE_CGROUPS]);
  });

  it('prefers the kprobe variant, which adds overflows, over the tracepoint one in program.bt', () => {
    expect(tcpaccept.variants.map((v) => [v.name, v.requires, relative(dirname(tcpaccept.programFile), v.programFile)])).toEqual([
      ['kprobe', [{ kind: 'kprobe', function: 'tcp_conn_request' }], 'program.kprobe.bt'],
      ['tracepoint', [], 'program.bt'],
    ]);
    const [kprobe, tracepoint] = tcpaccept.variants.map((v) => readFileSync(v.programFile, 'utf8'));
    expect(kprobe).toContain('kprobe:tcp_conn_request');
    expect(tracepoint).not.toContain('kprobe:');
    // Both read the same events the same way: the kprobe program is the tracepoint one plus the overflow probe.
    const probes = (text: string) => text.match(/^(tracepoint|kprobe):\S+/gm);
    expect(probes(kprobe!)).toEqual([...probes(tracepoint!)!, 'kprobe:tcp_conn_request']);
  });
});
