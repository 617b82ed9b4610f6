// cpu-profile of a real JVM (the host's JDK, 17+) through the whole stack: Busy.java, compiled here, burning CPU in
// two methods on two threads, started with -XX:+PreserveFramePointer; once C2 compiled both, `jcmd <pid>
// Compiler.perfmap` writes /tmp/perf-<pid>.map, or nothing does. Needs BPF and a JDK (helpers/runtimes.ts); run
// alone, under the host lock:
//   flock /tmp/th-host.lock npx vitest run test/e2e/cpu-profile-java.test.ts
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { BUSY_METHODS, busyArgs, compileBusy, jvmLeftovers, waitForTier4, writePerfMap } from '../helpers/jvm.ts';
import { CgroupProcess, findingsText, profileCgroup } from '../helpers/profile-run.ts';
import { assertRuntime, JDK, runtimeSuiteName, skipRuntime, type Jdk } from '../helpers/runtimes.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

/** A Java method's frame in folded stacks: a whole frame between separators (the leaf is followed by the count). */
const frame = (name: string) => new RegExp(`;${name.replace(/[.()]/g, '\\$&')}[; ]`);

describe.skipIf(skipBpf || skipRuntime(JDK))(runtimeSuiteName(bpfSuiteName('cpu-profile of a JVM'), JDK), () => {
  let sys: TestSystem;
  let jdk: Jdk;
  let classes: string;
  const busy = new CgroupProcess(jvmLeftovers);

  beforeAll(async () => {
    assertBpf();
    assertRuntime(JDK);
    jdk = JDK;
    // javac took 22 s on this host under load.
    [sys, classes] = await Promise.all([startSystem(), compileBusy(jdk)]);
  }, 180_000);
  afterEach(() => busy.stop());
  afterAll(async () => {
    await sys?.stop();
    if (classes) rmSync(classes, { recursive: true, force: true });
  });

  /** Busy in a test cgroup, once C2 compiled both hot loops (JVM start and compilation take seconds here). */
  async function startBusy(label: string): Promise<{ pid: number; cgroup: string }> {
    const jitLog = join(classes, `jit-${label}.log`);
    const { cg, pid } = busy.start('java', jdk.java, busyArgs(classes, jitLog));
    await waitForTier4(jitLog);
    return { pid, cgroup: cg.path };
  }

  it('names both hot methods from the map jcmd Compiler.perfmap wrote, and gives no perf-map advice', async () => {
    const { pid, cgroup } = await startBusy('map');
    const map = readFileSync(await writePerfMap(jdk, pid), 'utf8');
    expect(map).toContain(` ${BUSY_METHODS.alpha}\n`);
    expect(map).toContain(` ${BUSY_METHODS.beta}\n`);

    const { inv, result, folded } = await profileCgroup(sys, cgroup);
    const names = result.topFunctions.map((f) => f.name);
    expect(names).toContain(BUSY_METHODS.alpha);
    expect(names).toContain(BUSY_METHODS.beta);
    expect(folded).toMatch(frame(BUSY_METHODS.alpha));
    expect(folded).toMatch(frame(BUSY_METHODS.beta));
    // Two threads burn in the two methods themselves: most samples have one of them as their leaf.
    const own = result.topFunctions.filter((f) => f.name === BUSY_METHODS.alpha || f.name === BUSY_METHODS.beta).reduce((n, f) => n + f.self, 0);
    expect(own).toBeGreaterThan(0.5);
    // With -XX:+PreserveFramePointer the walk goes through the compiled and interpreted frames to start_thread.
    expect(result.symbolization).toEqual([
      expect.objectContaining({ pid, exe: expect.stringMatching(/\/bin\/java$/), runtime: 'java', perfMap: 'read' }),
    ]);
    expect(result.symbolization![0]!.perfMapFrames).toBeGreaterThan(0);
    expect(result.truncatedSamples! / result.samples).toBeLessThan(0.1);
    expect(inv.summary?.headline).toMatch(/^Hottest function on test-node: long Busy\.burn(Alpha|Beta)\(\)/);
    expect(findingsText(inv)).not.toMatch(/perf map|perf-map|Compiler\.perfmap|truncated/i);
  }, 240_000);

  it('names jcmd Compiler.perfmap and perf-map-agent for a JVM running without a map', async () => {
    const { pid, cgroup } = await startBusy('nomap');
    const { inv, result } = await profileCgroup(sys, cgroup);
    expect(result.topFunctions.map((f) => f.name)).not.toContain(BUSY_METHODS.alpha);
    expect(result.symbolization).toEqual([expect.objectContaining({ pid, runtime: 'java', perfMap: 'missing' })]);
    const advice = inv.summary?.findings.find((f) => /without a perf map/.test(f.title));
    expect(advice?.title).toBe(`java (pid ${pid}) runs java without a perf map: its JIT-compiled code has no names`);
    expect(advice?.detail).toContain(`jcmd ${pid} Compiler.perfmap`);
    expect(advice?.detail).toContain('perf-map-agent');
    expect(advice?.detail).toContain('-XX:+DumpPerfMapAtExit writes it only when the JVM exits, too late for a running one');
    expect(advice?.detail).toContain('-XX:+PreserveFramePointer');
  }, 240_000);
});
