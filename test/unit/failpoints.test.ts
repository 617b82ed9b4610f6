import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FailpointSpecError, parseFailpoints, shouldFire } from '../../src/faults/failpoints.ts';

const MODULE = fileURLToPath(new URL('../../src/faults/failpoints.ts', import.meta.url));

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'th-failpoints-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('failpoint specs', () => {
  it('reads point=action pairs, spaces and empty entries ignored', () => {
    const plan = parseFailpoints(' orchestrator.after-dispatch=kill , orchestrator.before-finish=kill-twice,', '/tmp/x');
    expect([...plan]).toEqual([
      ['orchestrator.after-dispatch', 'kill'],
      ['orchestrator.before-finish', 'kill-twice'],
    ]);
    expect(parseFailpoints('', undefined).size).toBe(0);
  });

  it.each([
    ['orchestrator.after-dispach=kill', /"orchestrator\.after-dispach=kill".*point one of orchestrator\.after-dispatch/],
    ['orchestrator.before-finish=explode', /"orchestrator\.before-finish=explode".*action one of kill, kill-once, kill-twice/],
    ['orchestrator.before-finish', /expected <point>=<action>/],
    ['orchestrator.before-finish=kill=now', /expected <point>=<action>/],
    ['orchestrator.before-finish=kill,orchestrator.before-finish=kill', /given twice/],
  ])('refuses %s, naming the entry', (spec, message) => {
    expect(() => parseFailpoints(spec, '/tmp/x')).toThrow(FailpointSpecError);
    expect(() => parseFailpoints(spec, '/tmp/x')).toThrow(message);
  });

  it('a counted action without a state directory is refused: it could not count across restarts', () => {
    expect(() => parseFailpoints('orchestrator.before-finish=kill-once', undefined)).toThrow(/kill-once counts across restarts and needs TRACEHOUND_FAILPOINTS_STATE/);
    expect(parseFailpoints('orchestrator.before-finish=kill', undefined).get('orchestrator.before-finish')).toBe('kill');
  });

  it('counts firings in the state directory: once fires once, twice twice, kill always', () => {
    const dir = tempDir();
    const fired = (action: 'kill' | 'kill-once' | 'kill-twice', name: 'orchestrator.after-dispatch' | 'orchestrator.before-finish') =>
      [1, 2, 3, 4].map(() => shouldFire(name, action, dir));
    expect(fired('kill-once', 'orchestrator.after-dispatch')).toEqual([true, false, false, false]);
    expect(fired('kill-twice', 'orchestrator.before-finish')).toEqual([true, true, false, false]);
    expect(fired('kill', 'orchestrator.before-finish')).toEqual([true, true, true, true]);
  });
});

describe('failpoint() in a real process', () => {
  /** Runs a process that reaches the point, with the given environment: killed, or it prints "survived". */
  const reach = (env: Record<string, string>) => {
    const script = `import { failpoint } from ${JSON.stringify(MODULE)}; failpoint('orchestrator.before-finish'); console.log('survived');`;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH ?? '', ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { signal: run.signal, stdout: run.stdout.trim(), stderr: run.stderr };
  };

  it('does nothing without TRACEHOUND_FAILPOINTS, or for another point', () => {
    expect(reach({})).toMatchObject({ signal: null, stdout: 'survived' });
    expect(reach({ TRACEHOUND_FAILPOINTS: 'orchestrator.after-dispatch=kill' })).toMatchObject({ signal: null, stdout: 'survived' });
  });

  it('SIGKILLs the process at the point, and kill-once only in the first of its restarts', () => {
    expect(reach({ TRACEHOUND_FAILPOINTS: 'orchestrator.before-finish=kill' })).toMatchObject({ signal: 'SIGKILL', stdout: '' });
    const env = { TRACEHOUND_FAILPOINTS: 'orchestrator.before-finish=kill-once', TRACEHOUND_FAILPOINTS_STATE: tempDir() };
    expect(reach(env)).toMatchObject({ signal: 'SIGKILL', stdout: '' });
    expect(reach(env)).toMatchObject({ signal: null, stdout: 'survived' });
  });

  it('a bad spec stops the process at start-up with the message, rather than running without the fault', () => {
    const run = reach({ TRACEHOUND_FAILPOINTS: 'orchestrator.before-finsh=kill' });
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('TRACEHOUND_FAILPOINTS: "orchestrator.before-finsh=kill"');
  });
});
