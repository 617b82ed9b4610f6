import { readCountMap } from '../../bpftrace-output.ts';
import { mergeHistograms, readHistMap, summarize, type Histogram } from '../../histogram.ts';
import { inetFamily } from '../../inet.ts';
import type { ParseContext } from '../../tool.ts';
import type { TcpAcceptor, TcpacceptResult, TcpListener } from './result.ts';

/** "family,port,cgroup": @handshakes, @overflows, @backlog. */
const LISTENER_KEY = /^(\d+),(\d+),(\d+)$/;
/** "family,port,cgroup,pid,comm": comm is last because it may hold commas. */
const ACCEPTOR_KEY = /^(\d+),(\d+),(\d+),(\d+),(.*)$/s;

interface ListenerKey {
  af: number;
  port: number;
  cgroupId: number;
}

function listenerKey(map: string, key: string): ListenerKey {
  const m = LISTENER_KEY.exec(key);
  if (m === null) throw new Error(`unexpected ${map} key ${JSON.stringify(key)}: expected "family,port,cgroup"`);
  const af = Number(m[1]);
  inetFamily(af, `${map} key ${JSON.stringify(key)}`);
  return { af, port: Number(m[2]), cgroupId: Number(m[3]) };
}

function acceptorKey(map: string, key: string): ListenerKey & { pid: number; comm: string } {
  const m = ACCEPTOR_KEY.exec(key);
  if (m === null) throw new Error(`unexpected ${map} key ${JSON.stringify(key)}: expected "family,port,cgroup,pid,comm"`);
  const af = Number(m[1]);
  inetFamily(af, `${map} key ${JSON.stringify(key)}`);
  return { af, port: Number(m[2]), cgroupId: Number(m[3]), pid: Number(m[4]), comm: m[5] ?? '' };
}

/** Whether bpftrace printed scalar map `name` (`@x = 1` in END) as 1: one JSON document per line. */
function hasScalar(stdout: string, name: string): boolean {
  return stdout.split('\n').some((line) => {
    if (!line.includes(`"${name}"`)) return false;
    const doc = JSON.parse(line) as { type?: unknown; data?: Record<string, unknown> };
    return doc.type === 'map' && doc.data?.[name] === 1;
  });
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function parseTcpaccept(stdout: string, maxRows: number, ctx: ParseContext): TcpacceptResult {
  // Only the kprobe variant sets this: without it, overflows are unknown rather than zero.
  const overflowsCounted = hasScalar(stdout, '@overflows_counted');
  const cgroupPaths = new Map<number, string | null>();
  const pathOf = (id: number): string | null => {
    if (id === 0) return null;
    if (!cgroupPaths.has(id)) cgroupPaths.set(id, ctx.cgroupPathOf(id));
    return cgroupPaths.get(id) ?? null;
  };

  const listeners = new Map<string, TcpListener>();
  const listener = (k: ListenerKey): TcpListener => {
    const id = `${k.af} ${k.port} ${k.cgroupId}`;
    let l = listeners.get(id);
    if (l === undefined) {
      l = {
        family: inetFamily(k.af, 'tcpaccept'),
        port: k.port,
        cgroupId: k.cgroupId,
        cgroup: pathOf(k.cgroupId),
        handshakes: 0,
        accepted: 0,
        overflows: overflowsCounted ? 0 : null,
        backlog: null,
      };
      listeners.set(id, l);
    }
    return l;
  };
  for (const [key, n] of Object.entries(readCountMap(stdout, '@handshakes'))) listener(listenerKey('@handshakes', key)).handshakes += n;
  for (const [key, n] of Object.entries(readCountMap(stdout, '@overflows'))) {
    const l = listener(listenerKey('@overflows', key));
    l.overflows = (l.overflows ?? 0) + n;
  }
  for (const [key, n] of Object.entries(readCountMap(stdout, '@backlog'))) listener(listenerKey('@backlog', key)).backlog = n;

  const acceptors = new Map<string, TcpAcceptor & { hist: Histogram | null }>();
  const acceptor = (map: string, key: string) => {
    const k = acceptorKey(map, key);
    let a = acceptors.get(key);
    if (a === undefined) {
      a = {
        comm: k.comm, pid: k.pid, family: inetFamily(k.af, 'tcpaccept'), port: k.port, cgroupId: k.cgroupId,
        cgroup: pathOf(k.cgroupId), accepted: 0, waitUs: null, maxWaitUs: null, hist: null,
      };
      acceptors.set(key, a);
    }
    return { a, k };
  };
  for (const [key, n] of Object.entries(readCountMap(stdout, '@accepted'))) {
    const { a, k } = acceptor('@accepted', key);
    a.accepted += n;
    listener(k).accepted += n;
  }
  for (const [key, h] of Object.entries(readHistMap(stdout, '@wait_us', 'us'))) {
    const { a } = acceptor('@wait_us', key);
    a.hist = h;
    a.waitUs = summarize(h);
  }
  for (const [key, us] of Object.entries(readCountMap(stdout, '@wait_max_us'))) acceptor('@wait_max_us', key).a.maxWaitUs = us;

  const lrows = [...listeners.values()].sort(
    (a, b) => (b.overflows ?? 0) - (a.overflows ?? 0) || b.handshakes - a.handshakes || b.accepted - a.accepted ||
      cmp(a.family, b.family) || a.port - b.port || a.cgroupId - b.cgroupId,
  );
  const arows = [...acceptors.values()].sort(
    (a, b) => b.accepted - a.accepted || a.port - b.port || cmp(a.comm, b.comm) || a.pid - b.pid || a.cgroupId - b.cgroupId || cmp(a.family, b.family),
  );
  const hists = arows.flatMap((a) => (a.hist === null ? [] : [a.hist]));
  return {
    handshakes: lrows.reduce((s, l) => s + l.handshakes, 0),
    accepted: arows.reduce((s, a) => s + a.accepted, 0),
    overflows: overflowsCounted ? lrows.reduce((s, l) => s + (l.overflows ?? 0), 0) : null,
    waitUs: hists.length === 0 ? null : summarize(mergeHistograms(hists, 'us')),
    listeners: lrows.slice(0, maxRows),
    distinctListeners: lrows.length,
    acceptors: arows.slice(0, maxRows).map(({ hist: _hist, ...a }) => a),
    distinctAcceptors: arows.length,
  };
}
