import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { tcpretrans } from './manifest.ts';
import { formatAddress, parseRetransKey, tcpStateName } from './parser.ts';
import { TcpretransResult } from './result.ts';
import type { ParseContext } from '../../tool.ts';
import { assertBpf, bpfSuiteName, skipBpf, runProgramBriefly } from '../../../test/helpers/bpf.ts';
import { NO_MORE_CGROUPS, UNUSED_CGROUPS } from '../../../test/helpers/cgroup-slots.ts';
import { recordingContext, toolFixture } from '../../../test/helpers/recordings.ts';

const fixture = (name: string): string => toolFixture('tcpretrans', name);

/** loopback-cgroup.json ran with the workload in cgroup v2 /th-tcpretrans (id 1260). */
const context = () => recordingContext({ 1260: '/th-tcpretrans', 1: '/' });

const parse = (stdout: string, params: object = {}, ctx: ParseContext = context()) =>
  tcpretrans.parse(stdout, tcpretrans.params.parse(params), ctx).result;

const mapLine = (entries: Record<string, number>): string =>
  `{"type": "attached_probes", "data": {"probes": 2}}\n\n\n{"type": "map", "data": {"@complete": 1}}\n` +
  `${JSON.stringify({ type: 'map', data: { '@retransmits': entries } })}\n`;

describe('tcpretrans parser on recorded output', () => {
  it('reads loopback retransmissions of one cgroup: IPv4, IPv6, and a SYN to a full accept queue', () => {
    const ctx = context();
    const result = parse(fixture('loopback-cgroup.json'), {}, ctx);
    expect(TcpretransResult.parse(result)).toEqual(result);
    const flow = { cgroupId: 1260, cgroup: '/th-tcpretrans' };
    expect(result).toEqual({
      total: 169,
      flows: [
        {
          family: 'ipv4', saddr: '127.0.0.1', sport: 43384, daddr: '127.0.0.1', dport: 40041, ...flow, count: 100,
          states: [{ state: 'TCP_ESTABLISHED', count: 95 }, { state: 'TCP_FIN_WAIT1', count: 5 }],
        },
        {
          family: 'ipv6', saddr: '::1', sport: 45556, daddr: '::1', dport: 41495, ...flow, count: 67,
          states: [{ state: 'TCP_ESTABLISHED', count: 67 }],
        },
        {
          family: 'ipv4', saddr: '127.0.0.1', sport: 36780, daddr: '127.0.0.1', dport: 60813, ...flow, count: 2,
          states: [{ state: 'TCP_SYN_SENT', count: 2 }],
        },
      ],
      distinctFlows: 3,
      byState: [
        { state: 'TCP_ESTABLISHED', count: 162 },
        { state: 'TCP_FIN_WAIT1', count: 5 },
        { state: 'TCP_SYN_SENT', count: 2 },
      ],
    });
    // The transfer run outside the cgroup at the same time (server port 32889) was filtered out in the kernel.
    expect(result.flows.some((f) => f.dport === 32889 || f.sport === 32889)).toBe(false);
    expect(ctx.lookups).toEqual([1260]);
  });

  it('keeps only the top flows', () => {
    const result = parse(fixture('loopback-cgroup.json'), { maxFlows: 1 });
    expect(result.flows.map((f) => f.dport)).toEqual([40041]);
    expect(result.distinctFlows).toBe(3);
    expect(result.total).toBe(169);
  });

  it('reports nothing when bpftrace printed only the completion marker', () => {
    expect(parse(fixture('no-retransmits.json'))).toEqual({ total: 0, flows: [], distinctFlows: 0, byState: [] });
  });
});

describe('tcpretrans parser edge cases', () => {
  it('formats addresses by socket family', () => {
    expect(formatAddress(2, '::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(formatAddress(10, '::ffff:10.1.2.3')).toBe('::ffff:10.1.2.3');
    expect(formatAddress(10, 'fd00::1')).toBe('fd00::1');
    expect(() => formatAddress(2, '10.1.2.3')).toThrow(/not an address from ntop/);
    expect(() => formatAddress(10, 'x')).toThrow(/not an address from ntop/);
  });

  it('names TCP states, known or not', () => {
    expect(tcpStateName(1)).toBe('TCP_ESTABLISHED');
    expect(tcpStateName(12)).toBe('TCP_NEW_SYN_RECV');
    expect(tcpStateName(99)).toBe('TCP_STATE_99');
  });

  it('splits keys and refuses malformed ones', () => {
    expect(parseRetransKey('10,8,443,51000,0,2001:db8::1,2001:db8::2')).toEqual({
      family: 'ipv6', state: 8, sport: 443, dport: 51000, cgroupId: 0, saddr: '2001:db8::1', daddr: '2001:db8::2',
    });
    expect(() => parse(mapLine({ '2,1,1,2,0,::ffff:1.2.3.4': 1 }))).toThrow(/expected "family,state,sport,dport,cgroup,saddr,daddr"/);
    expect(() => parse(mapLine({ '1,1,1,2,0,::1,::1': 1 }))).toThrow(/address family 1/);
    expect(() => parse(fixture('loopback-cgroup.json').slice(0, -40))).toThrow(/line 5 is not JSON/);
  });

  it('merges states of one flow, orders ties deterministically, and leaves cgroup 0 unnamed', () => {
    const result = parse(
      mapLine({
        '2,1,80,5000,0,::ffff:10.0.0.1,::ffff:10.0.0.2': 2,
        '2,4,80,5000,0,::ffff:10.0.0.1,::ffff:10.0.0.2': 2,
        '2,1,80,4000,1,::ffff:10.0.0.1,::ffff:10.0.0.2': 4,
        '10,1,80,4000,1,::1,::1': 4,
      }),
    );
    expect(result.flows.map((f) => [f.family, f.dport, f.cgroup, f.states])).toEqual([
      ['ipv4', 4000, '/', [{ state: 'TCP_ESTABLISHED', count: 4 }]],
      ['ipv4', 5000, null, [{ state: 'TCP_ESTABLISHED', count: 2 }, { state: 'TCP_FIN_WAIT1', count: 2 }]],
      ['ipv6', 4000, '/', [{ state: 'TCP_ESTABLISHED', count: 4 }]],
    ]);
    expect(result.byState).toEqual([{ state: 'TCP_ESTABLISHED', count: 10 }, { state: 'TCP_FIN_WAIT1', count: 2 }]);
  });

  it('is empty for empty output', () => {
    expect(parse('').total).toBe(0);
  });
});

describe('tcpretrans manifest', () => {
  it('validates params strictly', () => {
    expect(tcpretrans.params.parse({})).toEqual({ maxFlows: 50 });
    expect(tcpretrans.params.safeParse({ maxFlows: 0 }).success).toBe(false);
    expect(tcpretrans.params.safeParse({ port: 443 }).success).toBe(false);
  });

  it('passes only the cgroup ids: retransmits have no process', () => {
    expect(tcpretrans.args({ maxFlows: 50 }, { cgroupIds: [1260], pid: 0 })).toEqual(['1260', ...NO_MORE_CGROUPS]);
    expect(tcpretrans.args({ maxFlows: 50 }, { cgroupIds: [], pid: 4242 })).toEqual(['0', ...NO_MORE_CGROUPS]);
    expect(() => tcpretrans.args({ maxFlows: 50 }, { cgroupIds: [0.5], pid: 0 })).toThrow(/cgroup id/);
    // Several cgroups (the containers of the target pods): the first keeps its place, the others go last.
    expect(tcpretrans.args({ maxFlows: 50 }, { cgroupIds: [63, 64], pid: 0 })).toEqual(['63', '64', '0', '0', '0', '0', '0', '0']);
    expect(() => tcpretrans.args({ maxFlows: 50 }, { cgroupIds: [1, 2, 3, 4, 5, 6, 7, 8, 9], pid: 0 })).toThrow(/at most 8 cgroup ids/);
  });

  it('points at its program and declares what it needs', () => {
    expect(readFileSync(tcpretrans.programFile, 'utf8')).toContain('tracepoint:tcp:tcp_retransmit_skb');
    expect(tcpretrans.requires).toEqual([{ kind: 'bpftrace' }, { kind: 'btf' }, { kind: 'tracepoint', name: 'tcp/tcp_retransmit_skb' }]);
    expect(tcpretrans.limits).toEqual({ minDurationMs: 1000, maxDurationMs: 120_000, defaultDurationMs: 10_000, maxOutputBytes: 16 * 1024 * 1024, stopGraceMs: 2_000 });
  });
});

describe.skipIf(skipBpf)(bpfSuiteName('tcpretrans program'), () => {
  beforeAll(() => assertBpf());

  it('loads and prints the completion marker', async () => {
    const run = await runProgramBriefly(tcpretrans, tcpretrans.args({ maxFlows: 50 }, UNUSED_CGROUPS));
    expect(run.stdout, run.stderr).toContain('"attached_probes"');
    expect(parse(run.stdout).total).toBe(0);
  });
});
