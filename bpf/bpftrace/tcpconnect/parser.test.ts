import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tcpconnect } from './manifest.ts';
import { failureName } from './parser.ts';
import { TcpconnectResult } from './result.ts';
import type { ParseContext } from '../../tool.ts';
import { NO_MORE_CGROUPS } from '../../../test/helpers/cgroup-slots.ts';
import { recordingContext, toolFixture } from '../../../test/helpers/recordings.ts';

const fixture = (name: string): string => toolFixture('tcpconnect', name);

/** loopback-cgroup.json ran with the workload in cgroup v2 /th-tcpconnect (id 28) of a Debian 13 (6.12) guest. */
const context = () => recordingContext({ 28: '/th-tcpconnect' });

const parse = (stdout: string, params: object = {}, ctx: ParseContext = context()) =>
  tcpconnect.parse(stdout, tcpconnect.params.parse(params), ctx).result;

const doc = (maps: Record<string, unknown>, type = 'map'): string => `${JSON.stringify({ type, data: maps })}\n`;

describe('tcpconnect parser on recorded output', () => {
  it('reads established, refused and timed-out connects of one process, by destination', () => {
    const ctx = context();
    const result = parse(fixture('loopback-cgroup.json'), {}, ctx);
    expect(TcpconnectResult.parse(result)).toEqual(result);
    expect(result).toMatchObject({
      attempts: 8, established: 5, refused: 2, timedOut: 1, failed: 3, distinctTargets: 4,
      failures: [{ errno: 111, error: 'ECONNREFUSED', count: 2 }, { errno: 110, error: 'ETIMEDOUT', count: 1 }],
    });
    const who = { comm: 'python3', pid: 304, cgroupId: 28, cgroup: '/th-tcpconnect' };
    // Most failures first: the refused port (2), then the full listener (1 timed out), then by attempts.
    expect(result.targets.map((t) => [t.family, t.daddr, t.dport])).toEqual([
      ['ipv4', '127.0.0.1', 53575], ['ipv4', '127.0.0.1', 53377], ['ipv4', '127.0.0.1', 43321], ['ipv6', '::1', 43321],
    ]);
    expect(result.targets[0]).toEqual({
      ...who, family: 'ipv4', daddr: '127.0.0.1', dport: 53575, attempts: 2, established: 0, refused: 2, timedOut: 0,
      failures: [{ errno: 111, error: 'ECONNREFUSED', count: 2 }], pending: 0, latencyUs: null, maxLatencyUs: null, maxFailureUs: 795,
    });
    // The backlog-0 listener: the first connect filled its queue, the second gave up after 1 SYN retransmit (3 s).
    expect(result.targets[1]).toMatchObject({
      ...who, dport: 53377, attempts: 2, established: 1, timedOut: 1, failures: [{ errno: 110, error: 'ETIMEDOUT', count: 1 }],
      maxLatencyUs: 374, maxFailureUs: 3056702,
    });
    expect(result.targets[2]).toMatchObject({ ...who, dport: 43321, attempts: 3, established: 3, failures: [], pending: 0, maxLatencyUs: 3055 });
    expect(result.targets[2]?.latencyUs).toMatchObject({ count: 3, maxBucket: { low: 2048, high: 4095 } });
    expect(result.targets[3]).toMatchObject({ ...who, family: 'ipv6', daddr: '::1', attempts: 1, established: 1, maxLatencyUs: 18321 });
    // All five established connects, merged: 128 µs .. 33 ms under emulation.
    expect(result.latencyUs).toMatchObject({ count: 5, maxBucket: { low: 16384, high: 32767 } });
    expect(result.latencyUs?.buckets[0]).toEqual({ low: 128, high: 255, count: 1 });
    // The outsider's refused connect to port 9, in another cgroup, was filtered out in the kernel.
    expect(result.targets.some((t) => t.dport === 9)).toBe(false);
    expect(ctx.lookups).toEqual([28]);
  });

  it('keeps only the top targets', () => {
    const result = parse(fixture('loopback-cgroup.json'), { maxTargets: 1 });
    expect(result.targets.map((t) => t.dport)).toEqual([53575]);
    expect(result.distinctTargets).toBe(4);
    expect(result.attempts).toBe(8);
  });

  it('reports nothing when bpftrace printed only the completion marker', () => {
    expect(parse(fixture('no-connects.json'))).toEqual({
      attempts: 0, established: 0, refused: 0, timedOut: 0, failed: 0, failures: [], latencyUs: null, targets: [], distinctTargets: 0,
    });
  });
});

describe('tcpconnect parser edge cases', () => {
  it('keeps commas in comm, names errno 0 "closed", and counts connects still in SYN_SENT as pending', () => {
    const result = parse(
      doc({ '@attempts': { '10,443,0,7,fd00::2,web,worker': 3 } }) +
        doc({ '@failed': { '10,443,0,7,0,fd00::2,web,worker': 1, '10,443,0,7,113,fd00::2,web,worker': 1 } }),
    );
    expect(result.targets).toEqual([
      expect.objectContaining({
        comm: 'web,worker', pid: 7, cgroupId: 0, cgroup: null, family: 'ipv6', daddr: 'fd00::2', dport: 443, attempts: 3, pending: 1,
        failures: [{ errno: 0, error: 'closed', count: 1 }, { errno: 113, error: 'EHOSTUNREACH', count: 1 }], refused: 0, timedOut: 0,
      }),
    ]);
    expect(failureName(111)).toBe('ECONNREFUSED');
  });

  it('refuses malformed keys and families', () => {
    expect(() => parse(doc({ '@attempts': { '2,443,0,7,python3': 1 } }))).toThrow(/expected "family,dport,cgroup,pid,daddr,comm"/);
    expect(() => parse(doc({ '@failed': { '2,443,0,7,::ffff:1.2.3.4,x': 1 } }))).toThrow(/expected "family,dport,cgroup,pid,errno,daddr,comm"/);
    expect(() => parse(doc({ '@attempts': { '1,443,0,7,::1,x': 1 } }))).toThrow(/address family 1/);
    expect(() => parse(doc({ '@attempts': { '2,443,0,7,1.2.3.4,x': 1 } }))).toThrow(/not an address from ntop/);
    expect(() => parse(fixture('loopback-cgroup.json').slice(0, -40))).toThrow(/is not JSON/);
  });

  it('is empty for empty output', () => {
    expect(parse('').attempts).toBe(0);
  });
});

describe('tcpconnect manifest', () => {
  it('validates params strictly', () => {
    expect(tcpconnect.params.parse({})).toEqual({ maxTargets: 50 });
    expect(tcpconnect.params.safeParse({ maxTargets: 0 }).success).toBe(false);
    expect(tcpconnect.params.safeParse({ port: 443 }).success).toBe(false);
  });

  it('passes the cgroup set and the pid: connect() runs in the caller', () => {
    expect(tcpconnect.args({ maxTargets: 50 }, { cgroupIds: [28], pid: 0 })).toEqual(['28', '0', ...NO_MORE_CGROUPS]);
    expect(tcpconnect.args({ maxTargets: 50 }, { cgroupIds: [], pid: 4242 })).toEqual(['0', '4242', ...NO_MORE_CGROUPS]);
  });

  it('has one variant, the tracepoint program', () => {
    expect(tcpconnect.variants.map((v) => v.name)).toEqual(['tracepoint']);
    expect(readFileSync(tcpconnect.programFile, 'utf8')).toContain('tracepoint:sock:inet_sock_set_state');
    expect(tcpconnect.requires).toEqual([{ kind: 'bpftrace' }, { kind: 'btf' }, { kind: 'tracepoint', name: 'sock/inet_sock_set_state' }]);
  });
});
