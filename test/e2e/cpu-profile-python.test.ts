// cpu-profile of Python 3.12 with perf support (-X perf) through the whole stack: test/fixtures/jit/busy.py
// burning CPU in two functions. Python writes /tmp/perf-<pid>.map, one trampoline per function; whether a stack
// walk reaches those trampolines is up to the interpreter's frame pointers. Needs BPF and a Python 3.12
// (helpers/runtimes.ts); run alone, under the host lock:
//   flock /tmp/th-host.lock npx vitest run test/e2e/cpu-profile-python.test.ts
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { sleep } from '../helpers/kernel.ts';
import { CgroupProcess, findingsText, profileCgroup } from '../helpers/profile-run.ts';
import { assertRuntime, PYTHON312, runtimeSuiteName, skipRuntime, type Python } from '../helpers/runtimes.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

const BUSY_PY = new URL('../fixtures/jit/busy.py', import.meta.url).pathname;

describe.skipIf(skipBpf || skipRuntime(PYTHON312))(runtimeSuiteName(bpfSuiteName('cpu-profile of Python 3.12 -X perf'), PYTHON312), () => {
  let sys: TestSystem;
  let python: Python;
  const busy = new CgroupProcess();

  beforeAll(async () => {
    assertBpf();
    assertRuntime(PYTHON312);
    python = PYTHON312;
    sys = await startSystem();
  });
  afterEach(() => busy.stop());
  afterAll(async () => {
    await sys?.stop();
  });

  /** busy.py under python3.12 -X perf in a test cgroup, once its perf map names both functions. */
  async function startBusyWithMap(): Promise<{ pid: number; cgroup: string }> {
    const { cg, pid } = busy.start('py312', python.executable, ['-X', 'perf', BUSY_PY]);
    const map = `/tmp/perf-${pid}.map`;
    const named = () => existsSync(map) && /py::burn_alpha:[\s\S]*py::burn_beta:/.test(readFileSync(map, 'utf8'));
    for (let i = 0; i < 100 && !named(); i++) await sleep(100);
    expect(named()).toBe(true);
    return { pid, cgroup: cg.path };
  }

  it('reads the -X perf map, and says the stacks are cut in the interpreter for want of frame pointers', async () => {
    // What this case shows holds for an interpreter built without frame pointers, as pyenv's default build is.
    const cflags = execFileSync(python.executable, ['-c', 'import sysconfig; print(sysconfig.get_config_var("CFLAGS"))'], { encoding: 'utf8' });
    expect(cflags, 'this case needs a Python 3.12 built without frame pointers').not.toContain('-fno-omit-frame-pointer');
    const { pid, cgroup } = await startBusyWithMap();
    const { inv, result } = await profileCgroup(sys, cgroup);
    expect(result.symbolization).toEqual([
      expect.objectContaining({ pid, runtime: 'python', runtimeVersion: '3.12', perfMap: 'read', perfMapEntries: expect.any(Number) }),
    ]);
    expect(result.symbolization![0]!.perfMapEntries).toBeGreaterThan(100);
    // Measured here: every stack stops in libpython's C code (rbp is a general register there), before any
    // trampoline of the map, so nothing names burn_alpha or burn_beta.
    expect(result.truncatedSamples! / result.samples).toBeGreaterThan(0.9);
    const truncated = inv.summary?.findings.find((f) => /have truncated stacks: code without frame pointers$/.test(f.title));
    expect(truncated?.detail).toMatch(
      new RegExp(`python3\\.12 \\(pid ${pid}\\): [\\d,]+ of [\\d,]+ samples; fix: its perf support is on \\(its perf map was read\\), but the interpreter's C code was built without frame pointers`),
    );
    expect(truncated?.detail).toContain('-fno-omit-frame-pointer -mno-omit-leaf-frame-pointer');
    // -X perf is on already: neither the map advice nor the fix asks for it again.
    const text = findingsText(inv);
    expect(text).not.toMatch(/without a perf map/);
    expect(text).not.toMatch(/-X perf|PYTHONPERFSUPPORT/);
  });

  it('names -X perf when python3.12 runs without it', async () => {
    const { cg, pid } = busy.start('py312', python.executable, [BUSY_PY]);
    await sleep(1000);
    const { inv, result } = await profileCgroup(sys, cg.path);
    expect(result.symbolization).toEqual([expect.objectContaining({ pid, runtime: 'python', runtimeVersion: '3.12', perfMap: 'missing' })]);
    const advice = inv.summary?.findings.find((f) => /without a perf map/.test(f.title));
    expect(advice?.detail).toBe(`python3.12 (pid ${pid}): start python (3.12+) with -X perf, or set PYTHONPERFSUPPORT=1.`);
  });
});
