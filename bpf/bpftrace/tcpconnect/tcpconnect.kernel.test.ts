import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBpf, bpfSuiteName, skipBpf } from '../../../test/helpers/bpf.ts';
import { runBpftraceDuring, runIn } from '../../../test/helpers/bpftrace-during.ts';
import { createTestCgroup, type TestCgroup } from '../../../test/helpers/kernel.ts';
import { recordingContext } from '../../../test/helpers/recordings.ts';
import { tcpconnect } from './manifest.ts';
import { TcpconnectResult } from './result.ts';

/** Connects that succeed, are refused and time out, in a private network namespace (see the script). */
const WORKLOAD = fileURLToPath(new URL('./fixtures/workload.py', import.meta.url));
/** Outside the test cgroup, at the same time: one refused connect to port 9 that must not be counted. */
const OUTSIDER = "import socket, subprocess\nsubprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True)\ntry: socket.create_connection(('127.0.0.1', 9))\nexcept ConnectionRefusedError: print('refused')\n";

interface Workload {
  pid: number;
  listenPort: number;
  closedPort: number;
  fullPort: number;
  refused: number;
  timedOut: number;
  timeoutSeconds: number;
}

describe.skipIf(skipBpf)(bpfSuiteName('tcpconnect tracepoint variant on real connects'), () => {
  let cg: TestCgroup;
  beforeAll(() => {
    assertBpf();
    cg = createTestCgroup('tcpconnect');
  });
  afterAll(() => cg?.remove());

  it('counts established, refused and timed-out connects of the workload, by pid and destination', async () => {
    const variant = tcpconnect.variants.find((v) => v.name === 'tracepoint')!;
    const params = tcpconnect.params.parse({});
    const run = await runBpftraceDuring(variant.programFile, tcpconnect.args(params, { cgroupIds: [cg.id], pid: 0 }), tcpconnect.env, async () => {
      const [out, outsider] = await Promise.all([runIn(cg, 'unshare', ['-n', 'python3', WORKLOAD]), runIn(null, 'unshare', ['-n', 'python3', '-c', OUTSIDER])]);
      expect(outsider.trim()).toBe('refused');
      return JSON.parse(out) as Workload;
    });
    const w = run.workload;
    expect(w).toMatchObject({ refused: 2, timedOut: 1 });

    const ctx = recordingContext({ [cg.id]: cg.path });
    const result = tcpconnect.parse(run.stdout, params, ctx).result;
    expect(TcpconnectResult.parse(result)).toEqual(result);
    // Only the workload's socket cgroup is counted: every target is its, and the outsider's port 9 is absent.
    expect(result.targets.every((t) => t.cgroupId === cg.id && t.cgroup === cg.path && t.pid === w.pid && t.comm === 'python3')).toBe(true);
    expect(result.targets.some((t) => t.dport === 9)).toBe(false);

    const at = (daddr: string, dport: number) => result.targets.find((t) => t.daddr === daddr && t.dport === dport);
    const v4 = at('127.0.0.1', w.listenPort);
    expect(v4).toMatchObject({ family: 'ipv4', attempts: 3, established: 3, refused: 0, timedOut: 0, failures: [], pending: 0 });
    expect(v4?.latencyUs?.count).toBe(3);
    // Loopback handshakes take microseconds; under emulation a few ms. A second would mean a wrong start time.
    expect(v4?.maxLatencyUs).toBeGreaterThan(0);
    expect(v4?.maxLatencyUs).toBeLessThan(1_000_000);
    expect(at('::1', w.listenPort)).toMatchObject({ family: 'ipv6', attempts: 1, established: 1 });

    expect(at('127.0.0.1', w.closedPort)).toMatchObject({
      attempts: 2, established: 0, refused: 2, timedOut: 0, failures: [{ errno: 111, error: 'ECONNREFUSED', count: 2 }], latencyUs: null,
    });

    const full = at('127.0.0.1', w.fullPort);
    expect(full).toMatchObject({ attempts: 2, established: 1, refused: 0, timedOut: 1, failures: [{ errno: 110, error: 'ETIMEDOUT', count: 1 }] });
    // tcp_syn_retries 1: the SYN at 0 s, its retransmit at 1 s, given up at 3 s; the workload timed it from user space.
    expect(full?.maxFailureUs).toBeGreaterThan(2_500_000);
    expect(full?.maxFailureUs).toBeLessThan(w.timeoutSeconds * 1_000_000 + 500_000);

    expect(result).toMatchObject({ attempts: 8, established: 5, refused: 2, timedOut: 1, failed: 3, distinctTargets: 4 });
  });
});
