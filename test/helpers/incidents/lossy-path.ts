import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Teardown } from './teardown.ts';

/**
 * A client and a server in their own network namespaces, joined through a third that routes between them and drops
 * what overflows a small token bucket (tbf) on its way to the server: real loss in the middle of the path, so the
 * client's kernel retransmits. netem would be the usual tool; this host's kernel has no sch_netem (nor cls_u32,
 * act_gact), and tbf is what it has.
 */
export interface LossyPath {
  client: string;
  server: string;
  serverAddress: string;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
const inNs = (ns: string, ...args: string[]) => ip('netns', 'exec', ns, ...args);

export function createLossyPath(t: Teardown, opts: { rate: string; burst: string; limit: string }): LossyPath {
  const id = randomBytes(3).toString('hex');
  const [client, router, server] = ['thc', 'thr', 'ths'].map((p) => `${p}-${id}`) as [string, string, string];
  for (const ns of [client, router, server]) {
    ip('netns', 'add', ns);
    t.add(`delete network namespace ${ns}`, () => void ip('netns', 'del', ns)); // takes its veth ends with it
  }
  ip('link', 'add', 'c0', 'netns', client, 'type', 'veth', 'peer', 'name', 'r0', 'netns', router);
  ip('link', 'add', 's0', 'netns', server, 'type', 'veth', 'peer', 'name', 'r1', 'netns', router);
  const addr = (ns: string, dev: string, cidr: string) => {
    ip('-n', ns, 'addr', 'add', cidr, 'dev', dev);
    ip('-n', ns, 'link', 'set', dev, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  };
  addr(client, 'c0', '10.231.1.2/24');
  addr(router, 'r0', '10.231.1.1/24');
  addr(router, 'r1', '10.231.2.1/24');
  addr(server, 's0', '10.231.2.2/24');
  ip('-n', client, 'route', 'add', 'default', 'via', '10.231.1.1');
  ip('-n', server, 'route', 'add', 'default', 'via', '10.231.2.1');
  inNs(router, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward'); // the router namespace's own sysctl: gone with it
  inNs(router, 'tc', 'qdisc', 'add', 'dev', 'r1', 'root', 'tbf', 'rate', opts.rate, 'burst', opts.burst, 'limit', opts.limit);
  return { client, server, serverAddress: '10.231.2.2' };
}

/** A counter of /proc/<pid>/net/snmp (e.g. Tcp RetransSegs), as seen from that process's network namespace. */
export function snmpCounter(pid: number, proto: string, field: string): number {
  const lines = readFileSync(`/proc/${pid}/net/snmp`, 'utf8').split('\n').filter((l) => l.startsWith(`${proto}:`));
  const [names, values] = lines.map((l) => l.split(/\s+/).slice(1));
  const i = names?.indexOf(field) ?? -1;
  if (i < 0 || !values) throw new Error(`no ${proto} ${field} in /proc/${pid}/net/snmp`);
  return Number(values[i]);
}

/** A counter of /proc/<pid>/net/netstat (e.g. TcpExt ListenOverflows), as seen from that process's network namespace. */
export function netstatCounter(pid: number, proto: string, field: string): number {
  const lines = readFileSync(`/proc/${pid}/net/netstat`, 'utf8').split('\n').filter((l) => l.startsWith(`${proto}:`));
  const [names, values] = lines.map((l) => l.split(/\s+/).slice(1));
  const i = names?.indexOf(field) ?? -1;
  if (i < 0 || !values) throw new Error(`no ${proto} ${field} in /proc/${pid}/net/netstat`);
  return Number(values[i]);
}
