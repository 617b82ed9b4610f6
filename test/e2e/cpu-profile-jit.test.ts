// cpu-profile of JIT and interpreted code, through the whole stack: node with and without --perf-basic-prof, and
// the host's python3 (3.11: no -X perf, no frame pointers). Run alone, under the host lock:
//   flock /tmp/th-host.lock npx vitest run test/e2e/cpu-profile-jit.test.ts
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { sleep } from '../helpers/kernel.ts';
import { CgroupProcess, findingsText, profileCgroup, type ProfileRun } from '../helpers/profile-run.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

const NODE = new URL('../../node_modules/.bin/node', import.meta.url).pathname;
const BUSY_JS = new URL('../fixtures/jit/busy.cjs', import.meta.url).pathname;
const BUSY_PY = new URL('../fixtures/jit/busy.py', import.meta.url).pathname;
/** The interpreter itself, not a wrapper (pyenv's shim is a shell script until it execs). */
const PYTHON = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
const PYTHON_VERSION = execFileSync(PYTHON, ['-c', 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")'], { encoding: 'utf8' }).trim();

describe.skipIf(skipBpf)(bpfSuiteName('cpu-profile of JIT and interpreted code'), () => {
  let sys: TestSystem;
  const proc = new CgroupProcess();

  beforeAll(async () => {
    assertBpf();
    sys = await startSystem();
  });
  afterEach(() => proc.stop());
  afterAll(async () => {
    await sys?.stop();
  });

  async function profile(command: string, args: string[], ready: () => boolean): Promise<ProfileRun> {
    const { cg } = proc.start('jit', command, args);
    for (let i = 0; i < 100 && !ready(); i++) await sleep(100);
    expect(ready()).toBe(true);
    return profileCgroup(sys, cg.path);
  }

  it('names the JS functions of node --perf-basic-prof and gives no perf-map advice', async () => {
    const mapHas = (re: RegExp) => () => proc.child?.pid !== undefined && existsSync(`/tmp/perf-${proc.child.pid}.map`) && re.test(readFileSync(`/tmp/perf-${proc.child.pid}.map`, 'utf8'));
    const { inv, result, folded } = await profile(NODE, ['--perf-basic-prof', BUSY_JS], mapHas(/JS:\*burnAlpha [\s\S]*JS:\*burnBeta |JS:\*burnBeta [\s\S]*JS:\*burnAlpha /));
    const names = result.topFunctions.map((f) => f.name);
    expect(names.some((n) => n.startsWith('JS:*burnAlpha '))).toBe(true);
    expect(names.some((n) => n.startsWith('JS:*burnBeta '))).toBe(true);
    expect(folded).toMatch(/;JS:\*burnAlpha [^;]*busy\.cjs:\d+:\d+ \d+\n/);
    expect(folded).toMatch(/;JS:\*burnBeta [^;]*busy\.cjs:\d+:\d+ \d+\n/);
    // Two busy threads, both named: most samples are in the two functions themselves.
    const jit = result.topFunctions.filter((f) => /^JS:\*burn(Alpha|Beta) /.test(f.name)).reduce((n, f) => n + f.self, 0);
    expect(jit).toBeGreaterThan(0.5);
    expect(result.symbolization).toEqual([
      expect.objectContaining({ pid: proc.child!.pid, runtime: 'node', perfMap: 'read', truncatedSamples: 0 }),
    ]);
    expect(result.symbolization![0]!.perfMapFrames).toBeGreaterThan(0);
    // JIT frames named, native ones from node's own symbols: at most a stray unnamed frame.
    expect(result.unknownSamples / result.samples).toBeLessThan(0.1);
    expect(inv.summary?.headline).toMatch(/^Hottest function on test-node: JS:\*burn(Alpha|Beta) /);
    expect(findingsText(inv)).not.toMatch(/perf map|perf-basic-prof/i);
  });

  it('names --perf-basic-prof when node runs without a perf map', async () => {
    const started = Date.now();
    const { inv, result } = await profile(NODE, [BUSY_JS], () => Date.now() - started > 1500);
    expect(result.topFunctions.some((f) => f.name.startsWith('JS:'))).toBe(false);
    expect(result.symbolization).toEqual([expect.objectContaining({ pid: proc.child!.pid, runtime: 'node', perfMap: 'missing' })]);
    const advice = inv.summary?.findings.find((f) => /without a perf map/.test(f.title));
    expect(advice?.title).toMatch(/^node \(pid \d+\) runs node without a perf map/);
    expect(advice?.detail).toContain('--perf-basic-prof');
  });

  it('says python 3.11 stacks are truncated and that perf support needs 3.12+', async () => {
    expect(PYTHON_VERSION).toBe('3.11');
    const started = Date.now();
    const { inv, result } = await profile(PYTHON, [BUSY_PY], () => Date.now() - started > 500);
    expect(result.symbolization).toEqual([
      expect.objectContaining({ pid: proc.child!.pid, runtime: 'python', runtimeVersion: '3.11', perfMap: 'missing' }),
    ]);
    expect(result.truncatedSamples! / result.samples).toBeGreaterThan(0.1);
    const text = findingsText(inv);
    expect(text).toContain('Python 3.11 cannot write one: perf support (-X perf, PYTHONPERFSUPPORT=1) needs Python 3.12+');
    const truncated = inv.summary?.findings.find((f) => /have truncated stacks: code without frame pointers$/.test(f.title));
    expect(truncated?.detail).toMatch(/python3\.11 \(pid \d+\): [\d,]+ of [\d,]+ samples; fix: Python 3\.11 has no perf support; Python 3\.12\+ with -X perf/);
  });
});
