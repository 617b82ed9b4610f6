import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBpf, bpfSuiteName } from '../../../test/helpers/bpf.ts';
import { runBpftraceDuring, runIn } from '../../../test/helpers/bpftrace-during.ts';
import { kernelSuite } from '../../../test/helpers/kernel-features.ts';
import { createTestCgroup, sleep, type TestCgroup } from '../../../test/helpers/kernel.ts';
import type { KernelScope } from '../../tool.ts';
import { gethostlatency } from './manifest.ts';
import { GethostlatencyResult } from './result.ts';

const WORKLOAD = fileURLToPath(new URL('./fixtures/netns-lookups.sh', import.meta.url));
/** How late the test's DNS server answers. */
const DELAY_MS = 300;
const ROUNDS = 3;

const suite = kernelSuite(bpfSuiteName('gethostlatency uprobe variant on real lookups'), ['uprobe']);

/**
 * The uprobe program, run with the tool's env and args, while lookups.py resolves names through the node's libc in
 * private network and mount namespaces against a DNS server on the namespace's loopback that answers 300 ms late
 * (fixtures/netns-lookups.sh): each round getaddrinfo of localhost (/etc/hosts), of slow.th-test (exists) and of
 * fail.th-test (does not), and gethostbyname2 of slow.th-test.
 */
describe.skipIf(suite.skip)(suite.name, () => {
  let cg: TestCgroup | undefined;
  let looping: ChildProcess | undefined;

  const capture = async <T>(scope: KernelScope, workload: () => Promise<T>) => {
    const params = gethostlatency.params.parse({});
    const run = await runBpftraceDuring(gethostlatency.programFile, gethostlatency.args(params, scope), gethostlatency.env, workload);
    const ctx = { arch: process.arch, cgroupPathOf: (id: number) => (id === cg?.id ? cg.path : null) };
    return GethostlatencyResult.parse(gethostlatency.parse(run.stdout, params, ctx).result);
  };

  beforeAll(() => {
    assertBpf();
    suite.assert();
    cg = createTestCgroup('gethostlatency');
  });

  afterAll(() => {
    try {
      if (looping?.pid) process.kill(-looping.pid, 'SIGKILL');
    } catch {
      // gone already
    }
    cg?.remove();
  });

  it("times the cgroup's lookups per host name, exactly: slow and found, slow and failing, fast from /etc/hosts", async () => {
    // The same lookups outside the cgroup at the same time must not appear.
    const result = await capture({ cgroupIds: [cg?.id ?? 0], pid: 0 }, () =>
      Promise.all([runIn(cg ?? null, WORKLOAD, [String(DELAY_MS), String(ROUNDS)]), runIn(null, WORKLOAD, [String(DELAY_MS), String(ROUNDS)])]),
    );
    expect(result.processes.map((p) => [p.comm, p.cgroupId, p.cgroup])).toEqual([['dns,client', cg?.id, cg?.path]]);
    const [p] = result.processes;
    const host = (name: string) => p?.hosts.find((h) => h.host === name);
    expect(host('slow.th-test')).toMatchObject({ lookups: 2 * ROUNDS, failures: 0, errors: [] }); // getaddrinfo and gethostbyname2
    expect(host('fail.th-test')).toMatchObject({ lookups: ROUNDS, failures: ROUNDS, errors: [{ error: 'EAI_NONAME', count: ROUNDS }] });
    expect(host('localhost')).toMatchObject({ lookups: ROUNDS, failures: 0, errors: [] });
    // The server answers DELAY_MS late (timers may fire a little early); the resolver would give up after 3 s.
    for (const h of [host('slow.th-test'), host('fail.th-test')]) {
      expect(h?.maxUs).toBeGreaterThanOrEqual(DELAY_MS * 900);
      expect(h?.maxUs).toBeLessThan(3_000_000);
    }
    expect(host('localhost')?.maxUs).toBeLessThan(DELAY_MS * 900);
    expect(p).toMatchObject({ lookups: 4 * ROUNDS, failures: ROUNDS, distinctHosts: 3, maxUs: Math.max(host('slow.th-test')?.maxUs ?? 0, host('fail.th-test')?.maxUs ?? 0) });
    expect(p?.latency.count).toBe(4 * ROUNDS);
    // 3 of every 4 lookups wait for the server: the median is one of them, at most the slowest.
    expect(p?.latency.p50).toBeGreaterThanOrEqual(DELAY_MS * 900 * 0.5);
    expect(p?.latency.p50).toBeLessThanOrEqual(p?.maxUs ?? 0);
    expect(result).toMatchObject({ totalLookups: 4 * ROUNDS, totalFailures: ROUNDS, distinctProcesses: 1 });
  });

  it('filters on a pid in the kernel: only that process', async () => {
    looping = spawn(WORKLOAD, [String(DELAY_MS)], { stdio: 'ignore', detached: true });
    const clientOf = (pid: number): number => {
      // unshare execs the namespace's shell, whose child is the lookups process named "dns,client".
      try {
        const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
        return kids.find((k) => readFileSync(`/proc/${k}/comm`, 'utf8').trim() === 'dns,client') ?? 0;
      } catch {
        return 0;
      }
    };
    let client = 0;
    for (let i = 0; i < 1200 && client === 0; i++) {
      client = clientOf(looping.pid ?? 0);
      await sleep(50);
    }
    expect(client).toBeGreaterThan(0);
    // Meanwhile, the same lookups by another process, which the pid filter leaves out.
    const result = await capture({ cgroupIds: [], pid: client }, () => Promise.all([sleep(4_000), runIn(null, WORKLOAD, [String(DELAY_MS), '2'])]));
    expect(result.processes.map((p) => [p.pid, p.comm])).toEqual([[client, 'dns,client']]);
    expect(result.processes[0]?.hosts.length).toBeGreaterThan(0);
    for (const h of result.processes[0]?.hosts ?? []) expect(['fail.th-test', 'localhost', 'slow.th-test']).toContain(h.host);
  });
});
