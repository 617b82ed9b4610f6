import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBpf, bpfSuiteName, skipBpf } from '../../../test/helpers/bpf.ts';
import { runBpftraceDuring, runIn } from '../../../test/helpers/bpftrace-during.ts';
import { kernelSuite } from '../../../test/helpers/kernel-features.ts';
import { createTestCgroup, type TestCgroup } from '../../../test/helpers/kernel.ts';
import { recordingContext } from '../../../test/helpers/recordings.ts';
import { tcpaccept } from './manifest.ts';
import { TcpacceptResult, type TcpacceptResult as Result } from './result.ts';

/** tcpconnect's workload: its listeners, one accepting and one with a full queue, serve here (see the script). */
const WORKLOAD = fileURLToPath(new URL('../tcpconnect/fixtures/workload.py', import.meta.url));

/** Outside the test cgroup, at the same time: a listener that accepts one connection, which must not be counted. */
const OUTSIDER =
  "import socket, subprocess\nsubprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True)\n" +
  "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)\nc = socket.create_connection(s.getsockname()); s.accept()\nprint(s.getsockname()[1])\n";

interface Workload {
  pid: number;
  listenPort: number;
  accepted: number;
  fullPort: number;
  timedOut: number;
}

/** Runs one variant's program over the workload (in `cg`) and an outsider, and checks what both variants see. */
async function capture(variant: 'tracepoint' | 'kprobe', cg: TestCgroup): Promise<{ result: Result; w: Workload }> {
  const program = tcpaccept.variants.find((v) => v.name === variant)!.programFile;
  const params = tcpaccept.params.parse({});
  let outsiderPort = 0;
  const run = await runBpftraceDuring(program, tcpaccept.args(params, { cgroupIds: [cg.id], pid: 0 }), tcpaccept.env, async () => {
    const [out, outsider] = await Promise.all([runIn(cg, 'unshare', ['-n', 'python3', WORKLOAD]), runIn(null, 'unshare', ['-n', 'python3', '-c', OUTSIDER])]);
    outsiderPort = Number(outsider.trim());
    return JSON.parse(out) as Workload;
  });
  const w = run.workload;
  expect(w).toMatchObject({ accepted: 4, timedOut: 1 });
  const result = tcpaccept.parse(run.stdout, params, recordingContext({ [cg.id]: cg.path })).result;
  expect(TcpacceptResult.parse(result)).toEqual(result);

  // The dual-stack listener: 3 IPv4 (v4-mapped) and 1 IPv6 connection, all accepted by the workload.
  const listener = result.listeners.find((l) => l.port === w.listenPort);
  expect(listener).toMatchObject({ family: 'ipv6', cgroupId: cg.id, cgroup: cg.path, handshakes: 4, accepted: 4 });
  expect(result.acceptors).toHaveLength(1);
  const acceptor = result.acceptors[0]!;
  expect(acceptor).toMatchObject({ comm: 'python3', pid: w.pid, family: 'ipv6', port: w.listenPort, cgroupId: cg.id, accepted: 4 });
  // The workload accepts 100 ms after the last handshake: every connection waited at least that long.
  expect(acceptor.waitUs?.count).toBe(4);
  expect(acceptor.maxWaitUs).toBeGreaterThanOrEqual(100_000);
  expect(acceptor.waitUs?.buckets.filter((b) => b.count > 0).every((b) => (b.high ?? Infinity) >= 65_536)).toBe(true);
  expect(acceptor.maxWaitUs).toBeLessThan(10_000_000);
  // The backlog-0 listener completed one handshake and never accepted it.
  expect(result.listeners.find((l) => l.port === w.fullPort)).toMatchObject({ family: 'ipv4', handshakes: 1, accepted: 0 });
  // The outsider's listener, in another cgroup, was filtered out in the kernel.
  expect(outsiderPort).toBeGreaterThan(0);
  expect(result.listeners.some((l) => l.port === outsiderPort)).toBe(false);
  expect(result).toMatchObject({ handshakes: 5, accepted: 4, distinctListeners: 2, distinctAcceptors: 1 });
  return { result, w };
}

describe.skipIf(skipBpf)(bpfSuiteName('tcpaccept tracepoint variant on real connections'), () => {
  let cg: TestCgroup;
  beforeAll(() => {
    assertBpf();
    cg = createTestCgroup('tcpaccept');
  });
  afterAll(() => cg?.remove());

  it('counts handshakes, accepts and accept-queue waits per port and process; overflows unknown', async () => {
    const { result } = await capture('tracepoint', cg);
    expect(result.overflows).toBeNull();
    expect(result.listeners.every((l) => l.overflows === null && l.backlog === null)).toBe(true);
  });
});

const kprobe = kernelSuite(bpfSuiteName('tcpaccept kprobe variant on real connections'), ['kprobe']);
describe.skipIf(skipBpf || kprobe.skip)(kprobe.name, () => {
  let cg: TestCgroup;
  beforeAll(() => {
    kprobe.assert();
    assertBpf();
    cg = createTestCgroup('tcpaccept-kprobe');
  });
  afterAll(() => cg?.remove());

  it('also counts the SYNs dropped on the full accept queue, with its backlog', async () => {
    const { result, w } = await capture('kprobe', cg);
    // tcp_syn_retries 1: every SYN of the connect that timed out was dropped. 6.1 sends the SYN and one retransmit;
    // 6.12 a third just before giving up at 3 s (recorded in fixtures/kprobe-loopback-cgroup.json).
    const full = result.listeners.find((l) => l.port === w.fullPort);
    expect(full).toMatchObject({ backlog: 0 });
    expect(full?.overflows).toBeGreaterThanOrEqual(2);
    expect(full?.overflows).toBeLessThanOrEqual(3);
    // The other listener never overflowed.
    expect(result.listeners.find((l) => l.port === w.listenPort)).toMatchObject({ overflows: 0, backlog: null });
    expect(result.overflows).toBe(full?.overflows);
    expect(result.listeners[0]?.port).toBe(w.fullPort);
  });
});
