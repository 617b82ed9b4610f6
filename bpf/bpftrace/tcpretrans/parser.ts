import { isIP } from 'node:net';
import { readCountMap } from '../../bpftrace-output.ts';
import type { ParseContext } from '../../tool.ts';
import type { TcpRetransFlow, TcpretransResult } from './result.ts';

/** The map the program fills; bpftrace prints it at SIGINT. */
export const MAP_NAME = '@retransmits';

/** "family,state,sport,dport,cgroup,saddr,daddr"; bpftrace's ntop() text has no commas. */
const KEY = /^(\d+),(\d+),(\d+),(\d+),(\d+),([^,]+),([^,]+)$/;

const AF_INET = 2;
const AF_INET6 = 10;

/** include/net/tcp_states.h; the names the tracepoint itself prints. */
const TCP_STATES: ReadonlyMap<number, string> = new Map([
  [1, 'TCP_ESTABLISHED'], [2, 'TCP_SYN_SENT'], [3, 'TCP_SYN_RECV'], [4, 'TCP_FIN_WAIT1'], [5, 'TCP_FIN_WAIT2'],
  [6, 'TCP_TIME_WAIT'], [7, 'TCP_CLOSE'], [8, 'TCP_CLOSE_WAIT'], [9, 'TCP_LAST_ACK'], [10, 'TCP_LISTEN'],
  [11, 'TCP_CLOSING'], [12, 'TCP_NEW_SYN_RECV'], [13, 'TCP_BOUND_INACTIVE'],
]);

export function tcpStateName(n: number): string {
  return TCP_STATES.get(n) ?? `TCP_STATE_${n}`;
}

const V4_MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/**
 * The program reads both families from the tracepoint's IPv6 fields, where IPv4 flows are stored v4-mapped:
 * an AF_INET socket's address becomes its dotted quad again. An AF_INET6 socket keeps what it has, since a
 * v4-mapped address there is what the (dual-stack) socket really uses.
 */
export function formatAddress(family: number, text: string): string {
  if (isIP(text) !== 6) throw new Error(`${MAP_NAME}: not an address from ntop(): ${JSON.stringify(text)}`);
  const mapped = family === AF_INET ? V4_MAPPED.exec(text) : null;
  return mapped?.[1] ?? text;
}

interface FlowKey {
  family: 'ipv4' | 'ipv6';
  state: number;
  sport: number;
  dport: number;
  cgroupId: number;
  saddr: string;
  daddr: string;
}

export function parseRetransKey(key: string): FlowKey {
  const m = KEY.exec(key);
  if (m === null) throw new Error(`unexpected ${MAP_NAME} key ${JSON.stringify(key)}: expected "family,state,sport,dport,cgroup,saddr,daddr"`);
  const [, family = '', state = '', sport = '', dport = '', cgroup = '', saddr = '', daddr = ''] = m;
  const af = Number(family);
  if (af !== AF_INET && af !== AF_INET6) throw new Error(`unexpected ${MAP_NAME} key ${JSON.stringify(key)}: address family ${af}`);
  return {
    family: af === AF_INET ? 'ipv4' : 'ipv6',
    state: Number(state),
    sport: Number(sport),
    dport: Number(dport),
    cgroupId: Number(cgroup),
    saddr: formatAddress(af, saddr),
    daddr: formatAddress(af, daddr),
  };
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function stateList(counts: Map<number, number>): Array<{ state: string; count: number }> {
  return [...counts]
    .sort(([sa, a], [sb, b]) => b - a || sa - sb)
    .map(([state, count]) => ({ state: tcpStateName(state), count }));
}

export function parseTcpretrans(stdout: string, maxFlows: number, ctx: ParseContext): TcpretransResult {
  const flows = new Map<string, { key: FlowKey; count: number; states: Map<number, number> }>();
  const byState = new Map<number, number>();
  let total = 0;
  for (const [text, count] of Object.entries(readCountMap(stdout, MAP_NAME))) {
    const k = parseRetransKey(text);
    const id = [k.family, k.saddr, k.sport, k.daddr, k.dport, k.cgroupId].join(' ');
    let f = flows.get(id);
    if (f === undefined) flows.set(id, (f = { key: k, count: 0, states: new Map() }));
    f.count += count;
    f.states.set(k.state, (f.states.get(k.state) ?? 0) + count);
    byState.set(k.state, (byState.get(k.state) ?? 0) + count);
    total += count;
  }

  const cgroupPaths = new Map<number, string | null>();
  const pathOf = (id: number): string | null => {
    if (!cgroupPaths.has(id)) cgroupPaths.set(id, ctx.cgroupPathOf(id));
    return cgroupPaths.get(id) ?? null;
  };
  const rows = [...flows.values()].map(
    ({ key: k, count, states }): TcpRetransFlow => ({
      family: k.family,
      saddr: k.saddr,
      sport: k.sport,
      daddr: k.daddr,
      dport: k.dport,
      cgroupId: k.cgroupId,
      cgroup: k.cgroupId === 0 ? null : pathOf(k.cgroupId),
      count,
      states: stateList(states),
    }),
  );
  rows.sort(
    (a, b) =>
      b.count - a.count ||
      cmp(a.family, b.family) ||
      cmp(a.saddr, b.saddr) ||
      a.sport - b.sport ||
      cmp(a.daddr, b.daddr) ||
      a.dport - b.dport ||
      a.cgroupId - b.cgroupId,
  );
  return { total, flows: rows.slice(0, maxFlows), distinctFlows: rows.length, byState: stateList(byState) };
}
