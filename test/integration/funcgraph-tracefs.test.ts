import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, rmdir, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runTracefsCapture, type TracefsCapturePlan } from '../../bpf/tracefs/funcgraph/tracefs-run.ts';
import { funcgraph, scopeThreads } from '../../bpf/tracefs/funcgraph/manifest.ts';
import {
  acquireFtraceLock,
  DEFAULT_LOCK_PATH,
  recoverAbandonedFtraceLock,
  restorableValue,
  restoreTracefs,
  saveTracefs,
  UnrestorableStateError,
  writeTracefsFile,
} from '../../bpf/tracefs/funcgraph/tracefs.ts';
import type { KernelScope, NativeRunContext } from '../../bpf/tool.ts';
import { CapabilityError, ConflictError, UnsupportedTargetError } from '../../src/core/errors.ts';
import { restoreFtraceLeftByDeadAgent } from '../../workers/node-agent/ftrace-recovery.ts';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

const TRACEFS = '/sys/kernel/tracing';
const CGROUP_ROOT = '/sys/fs/cgroup/unified';

describe('tracefs restorable values', () => {
  it('turns what a file reads into what writes it back', () => {
    expect(restorableValue('set_graph_function', '#### all functions enabled ####\n')).toBe('');
    expect(restorableValue('set_ftrace_filter', 'vfs_read\nlock_hrtimer_base.isra.24\n')).toBe('vfs_read lock_hrtimer_base.isra.24');
    expect(restorableValue('set_ftrace_pid', 'no pid\n')).toBe('');
    expect(restorableValue('set_ftrace_pid', '311\n4022\n')).toBe('311 4022');
    expect(restorableValue('buffer_size_kb', '7 (expanded: 1408)\n')).toBe('1408');
    expect(restorableValue('buffer_size_kb', '1410\n')).toBe('1410');
    expect(restorableValue('current_tracer', 'nop\n')).toBe('nop');
    expect(restorableValue('options/funcgraph-tail', '0\n')).toBe('0');
  });

  it('refuses settings that writing back would not reproduce', () => {
    expect(() => restorableValue('set_ftrace_filter', 'schedule:traceoff:unlimited\n')).toThrow(UnrestorableStateError);
    expect(() => restorableValue('set_ftrace_filter', 'kvm_vcpu_yield_to [kvm]\n')).toThrow(/kvm_vcpu_yield_to \[kvm\]/);
    expect(() => restorableValue('buffer_size_kb', 'X\n')).toThrow(/per-CPU sizes differ/);
  });
});

/** Every file these tests may touch, as raw text: the suite must leave tracefs exactly as it found it. */
function snapshot(): Record<string, string> {
  const files = ['current_tracer', 'tracing_on', 'buffer_size_kb', 'tracing_thresh', 'set_event_pid', 'trace_options', 'events/enable'];
  const out: Record<string, string> = {};
  for (const f of files) out[f] = readFileSync(join(TRACEFS, f), 'utf8');
  for (const o of readdirSync(join(TRACEFS, 'options'))) out[`options/${o}`] = readFileSync(join(TRACEFS, 'options', o), 'utf8');
  return out;
}

const read = (file: string) => readFileSync(join(TRACEFS, file), 'utf8').trim();

function startSleeper(): ChildProcess {
  return spawn('sleep', ['60'], { stdio: 'ignore' });
}

async function deadPid(): Promise<number> {
  const child = spawn('true', [], { stdio: 'ignore' });
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid ?? 0;
}

function startTimeOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
}

describe.skipIf(skipBpf)(bpfSuiteName('funcgraph on the real tracefs'), () => {
  let before: Record<string, string>;
  let dir: string;
  let lockPath: string;
  let perfToolsLockPath: string;

  beforeAll(async () => {
    assertBpf();
    if (read('current_tracer') !== 'nop') throw new Error('ftrace is in use on this machine (current_tracer is not nop); refusing to test');
    // A freshly booted kernel has not allocated the trace buffer yet ("7 (expanded: 1408)"); the first tracer set
    // allocates it, rounded to pages ("1410"), and no write gives the unexpanded state back. Setting nop allocates
    // it once here, so the snapshot compares what the tests change, not this one-way first-use step.
    await writeTracefsFile(TRACEFS, 'current_tracer', 'nop');
    before = snapshot();
    dir = await mkdtemp(join(tmpdir(), 'funcgraph-test-'));
    lockPath = join(dir, 'ftrace.lock');
    perfToolsLockPath = join(dir, 'perf-tools.lock');
  });

  afterEach(async () => {
    await rm(lockPath, { force: true });
    await rm(perfToolsLockPath, { force: true });
    // Whatever a failed test left, the machine gets its state back; the snapshot check below still fails it.
    if (read('current_tracer') !== 'nop') await writeTracefsFile(TRACEFS, 'current_tracer', 'nop');
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    if (before) expect(snapshot()).toEqual(before);
  });

  const ctx = (over: Partial<NativeRunContext> = {}): NativeRunContext => ({
    arch: process.arch,
    cgroupPathOf: () => null,
    scope: { cgroupIds: [], pid: 0 },
    durationMs: 1_000,
    signal: new AbortController().signal,
    tracefs: TRACEFS,
    procRoot: '/proc',
    cgroupRoot: CGROUP_ROOT,
    ...over,
  });

  const hasGraphTracer = () => read('available_tracers').split(/\s+/).includes('function_graph');

  it('run() refuses clearly when the kernel has no function_graph tracer, touching nothing', async (t) => {
    t.skip(hasGraphTracer(), 'this kernel has the function_graph tracer, so there is no refusal to see');
    const tracers = read('available_tracers').split(/\s+/).join(' ');
    const params = funcgraph.params.parse({ function: 'vfs_read' });
    const run = funcgraph.run(params, ctx());
    await expect(run).rejects.toBeInstanceOf(CapabilityError);
    await expect(run).rejects.toThrow(`tracer function_graph not available on kernel ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()} (available_tracers: ${tracers})`);
    expect(existsSync(DEFAULT_LOCK_PATH)).toBe(false);
    expect(snapshot()).toEqual(before);
  });

  it('run() refuses without tracefs', async () => {
    await expect(funcgraph.run(funcgraph.params.parse({ function: 'vfs_read' }), ctx({ tracefs: null }))).rejects.toThrow(
      new CapabilityError('tracefs is not mounted'),
    );
  });

  it('turns a pid or cgroup scope into the thread ids set_ftrace_pid takes', async () => {
    // Two cgroups, as two containers of a pod, each holding one sleeper.
    const names = ['a', 'b'].map((x) => `funcgraph-test-${process.pid}-${x}`);
    const sleepers = [startSleeper(), startSleeper()];
    const made: string[] = [];
    try {
      const ids: number[] = [];
      for (const [i, name] of names.entries()) {
        const dir = join(CGROUP_ROOT, name);
        await mkdir(dir);
        made.push(dir);
        await writeFile(join(dir, 'cgroup.procs'), String(sleepers[i]?.pid ?? 0));
        ids.push(statSync(dir).ino);
      }
      const [a, b] = ids as [number, number];
      const [pa, pb] = sleepers.map((s) => s.pid ?? 0) as [number, number];
      const paths = new Map([[a, `/${names[0]}`], [b, `/${names[1]}`]]);
      const scoped = (scope: KernelScope) => scopeThreads(ctx({ scope, cgroupPathOf: (i) => paths.get(i) ?? null }));
      expect(await scoped({ pid: 0, cgroupIds: [] })).toBeNull();
      expect(await scoped({ pid: pa, cgroupIds: [] })).toEqual([pa]);
      expect(await scoped({ pid: 0, cgroupIds: [a] })).toEqual([pa]);
      expect(await scoped({ pid: pa, cgroupIds: [a] })).toEqual([pa]);
      // A set of cgroups: the threads of all of them; with a pid, that process's threads in any of them.
      expect(await scoped({ pid: 0, cgroupIds: [a, b] })).toEqual([pa, pb].sort((x, y) => x - y));
      expect(await scoped({ pid: pb, cgroupIds: [a, b] })).toEqual([pb]);
      const ours = readdirSync(`/proc/${process.pid}/task`).map(Number).sort((x, y) => x - y);
      expect(await scoped({ pid: process.pid, cgroupIds: [] })).toEqual(ours);
      // Never an empty list: set_ftrace_pid would read it as "every task".
      await expect(scoped({ pid: process.pid, cgroupIds: [a, b] })).rejects.toThrow(new UnsupportedTargetError('the target has no running threads to trace'));
      // A cgroup gone from the set (an exited container) holds no threads; a set with none left is refused.
      expect(await scoped({ pid: 0, cgroupIds: [a + 1_000_000, b] })).toEqual([pb]);
      await expect(scoped({ pid: 0, cgroupIds: [a + 1_000_000] })).rejects.toThrow(/no longer exists/);
      await expect(scoped({ pid: 0, cgroupIds: [a + 1_000_000, b + 1_000_000] })).rejects.toThrow(/exists any longer/);
      for (const s of sleepers) {
        s.kill('SIGKILL');
        await new Promise((resolve) => s.on('exit', resolve));
      }
      await expect(scoped({ pid: 0, cgroupIds: [a, b] })).rejects.toThrow(/no running threads/);
    } finally {
      for (const s of sleepers) {
        if (s.exitCode === null && s.signalCode === null) {
          s.kill('SIGKILL');
          await new Promise((resolve) => s.on('exit', resolve));
        }
      }
      for (const dir of made) await rmdir(dir);
    }
  });

  it('saves and restores real tracefs files', async () => {
    const files = ['current_tracer', 'tracing_on', 'buffer_size_kb', 'tracing_thresh', 'set_event_pid', 'options/record-tgid', 'options/annotate'];
    const saved = await saveTracefs(TRACEFS, files, false);
    expect(saved.files.map((f) => f.file)).toEqual(files);
    try {
      await writeTracefsFile(TRACEFS, 'current_tracer', 'blk');
      await writeTracefsFile(TRACEFS, 'tracing_on', '0');
      await writeTracefsFile(TRACEFS, 'buffer_size_kb', String(Number(read('buffer_size_kb').split(' ')[0]) + 64));
      await writeTracefsFile(TRACEFS, 'tracing_thresh', '100');
      await writeTracefsFile(TRACEFS, 'set_event_pid', `${process.pid} ${process.ppid}`);
      await writeTracefsFile(TRACEFS, 'options/record-tgid', read('options/record-tgid') === '1' ? '0' : '1');
      await writeTracefsFile(TRACEFS, 'options/annotate', read('options/annotate') === '1' ? '0' : '1');
      expect(read('current_tracer')).toBe('blk');
      expect(read('set_event_pid').split('\n').map(Number).sort()).toEqual([process.pid, process.ppid].sort());
      expect(snapshot()).not.toEqual(before);
    } finally {
      await restoreTracefs(TRACEFS, saved);
    }
    expect(snapshot()).toEqual(before);
    await restoreTracefs(TRACEFS, saved); // idempotent
    expect(snapshot()).toEqual(before);
  });

  it('refuses to save a file it cannot read, before anything changed', async () => {
    await expect(saveTracefs(TRACEFS, ['tracing_on', 'options/no-such-option'])).rejects.toThrow(/cannot read .*options\/no-such-option: ENOENT/);
    expect(snapshot()).toEqual(before);
  });

  describe('the ftrace lock', () => {
    it('refuses a second capture of this process, and is free again once released', async () => {
      const lock = await acquireFtraceLock({ lockPath });
      expect(JSON.parse(await readFile(lockPath, 'utf8'))).toMatchObject({ pid: process.pid, startTime: startTimeOf(process.pid), state: null });
      await expect(acquireFtraceLock({ lockPath })).rejects.toThrow(/in use by another capture of this agent/);
      await lock.release();
      expect(existsSync(lockPath)).toBe(false);
      await (await acquireFtraceLock({ lockPath })).release();
    });

    it('refuses while another live process holds it, and takes it over once that process is gone', async () => {
      const sleeper = startSleeper();
      try {
        const pid = sleeper.pid ?? 0;
        await new Promise((r) => setTimeout(r, 100));
        await writeFile(lockPath, JSON.stringify({ pid, startTime: startTimeOf(pid), createdAt: 'then', state: null }));
        await expect(acquireFtraceLock({ lockPath })).rejects.toThrow(new ConflictError(`ftrace is in use by pid ${pid} since then (lock ${lockPath})`));
      } finally {
        sleeper.kill('SIGKILL');
        await new Promise((resolve) => sleeper.on('exit', resolve));
      }
      const lock = await acquireFtraceLock({ lockPath });
      expect(JSON.parse(await readFile(lockPath, 'utf8')).pid).toBe(process.pid);
      await lock.release();
    });

    it('treats a live pid with another start time as a new process (pid reuse)', async () => {
      await writeFile(lockPath, JSON.stringify({ pid: process.ppid, startTime: '1', createdAt: 'then', state: null }));
      await (await acquireFtraceLock({ lockPath })).release();
    });

    it('restores the state a dead capture left in its lock before taking it', async () => {
      const saved = await saveTracefs(TRACEFS, ['tracing_on', 'current_tracer', 'options/record-tgid', 'set_event_pid']);
      // What a capture that died mid-way leaves behind.
      await writeTracefsFile(TRACEFS, 'tracing_on', '0');
      await writeTracefsFile(TRACEFS, 'current_tracer', 'blk');
      await writeTracefsFile(TRACEFS, 'options/record-tgid', read('options/record-tgid') === '1' ? '0' : '1');
      await writeTracefsFile(TRACEFS, 'set_event_pid', String(process.pid));
      await writeFile(lockPath, JSON.stringify({ pid: await deadPid(), startTime: null, createdAt: 'then', state: saved }));
      const lock = await acquireFtraceLock({ lockPath });
      try {
        expect(snapshot()).toEqual(before);
      } finally {
        await lock.release();
      }
    });

    it('recovers a lock this process abandoned after a failed restore', async () => {
      const lock = await acquireFtraceLock({ lockPath });
      const saved = await saveTracefs(TRACEFS, ['current_tracer']);
      await lock.recordState(saved);
      await writeTracefsFile(TRACEFS, 'current_tracer', 'blk');
      lock.abandon();
      expect(existsSync(lockPath)).toBe(true);
      const next = await acquireFtraceLock({ lockPath });
      expect(read('current_tracer')).toBe('nop');
      await next.release();
    });

    it('waits for an unreadable lock file unless it is old', async () => {
      await writeFile(lockPath, '');
      await expect(acquireFtraceLock({ lockPath })).rejects.toThrow(/unreadable contents/);
      const old = new Date(Date.now() - 120_000);
      await utimes(lockPath, old, old);
      await (await acquireFtraceLock({ lockPath })).release();
    });
  });

  describe('after an agent crash (start-up recovery)', () => {
    // What a funcgraph capture changes, with blk standing in for function_graph and the event pid lists for
    // set_graph_function and set_ftrace_pid (the function tracer's files are not open to us here: EPERM).
    const FILES = ['tracing_on', 'current_tracer', 'set_event_notrace_pid', 'set_event_pid', 'options/record-tgid'];
    const flip = (file: string) => (read(file) === '1' ? '0' : '1');
    const listsBefore = () => ({ notrace: read('set_event_notrace_pid'), pid: read('set_event_pid') });

    /** Leaves tracefs as a capture does when its agent is SIGKILLed mid-capture; returns what it had saved. */
    async function captureKilledMidway() {
      const saved = await saveTracefs(TRACEFS, FILES);
      await writeTracefsFile(TRACEFS, 'set_event_notrace_pid', String(process.ppid));
      await writeTracefsFile(TRACEFS, 'set_event_pid', String(process.pid));
      await writeTracefsFile(TRACEFS, 'current_tracer', 'blk');
      await writeTracefsFile(TRACEFS, 'options/record-tgid', flip('options/record-tgid'));
      await writeTracefsFile(TRACEFS, 'tracing_on', flip('tracing_on'));
      expect(read('current_tracer')).toBe('blk');
      expect(read('set_event_notrace_pid')).toBe(String(process.ppid));
      expect(read('set_event_pid')).toBe(String(process.pid));
      return saved;
    }

    it('restores the state a dead owner saved in its lock, removes the lock and logs what it restored', async () => {
      const lists = listsBefore();
      const saved = await captureKilledMidway();
      const pid = await deadPid();
      await writeFile(lockPath, JSON.stringify({ pid, startTime: null, createdAt: 'then', state: saved }));
      const lines: string[] = [];
      const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
      try {
        await restoreFtraceLeftByDeadAgent(log, { lockPath });
        expect(snapshot()).toEqual(before);
        expect(listsBefore()).toEqual(lists);
        expect(existsSync(lockPath)).toBe(false);
      } finally {
        await restoreTracefs(TRACEFS, saved);
      }
      expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
        expect.objectContaining({ level: 40, pid, since: 'then', tracefs: TRACEFS, restored: saved.files, msg: expect.stringMatching(/restored the state/) }),
      ]);
    });

    it('leaves a lock whose owner is alive, and the tracefs it changed, alone', async () => {
      const sleeper = startSleeper();
      const saved = await captureKilledMidway();
      try {
        const pid = sleeper.pid ?? 0;
        await new Promise((r) => setTimeout(r, 100));
        const lock = JSON.stringify({ pid, startTime: startTimeOf(pid), createdAt: 'then', state: saved });
        await writeFile(lockPath, lock);
        expect(await recoverAbandonedFtraceLock({ lockPath })).toEqual({
          status: 'in-use',
          reason: `ftrace is in use by pid ${pid} since then (lock ${lockPath})`,
        });
        expect(read('current_tracer')).toBe('blk');
        expect(read('set_event_notrace_pid')).toBe(String(process.ppid));
        expect(read('set_event_pid')).toBe(String(process.pid));
        expect(await readFile(lockPath, 'utf8')).toBe(lock);
      } finally {
        sleeper.kill('SIGKILL');
        await restoreTracefs(TRACEFS, saved);
      }
      expect(snapshot()).toEqual(before);
    });

    it('reports a free lock as free and a dead owner that saved nothing as recovered with nothing restored', async () => {
      expect(await recoverAbandonedFtraceLock({ lockPath })).toEqual({ status: 'free' });
      const pid = await deadPid();
      await writeFile(lockPath, JSON.stringify({ pid, startTime: null, createdAt: 'then', state: null }));
      expect(await recoverAbandonedFtraceLock({ lockPath })).toEqual({ status: 'recovered', pid, createdAt: 'then', restored: null });
      expect(existsSync(lockPath)).toBe(false);
      expect(snapshot()).toEqual(before);
    });

    it('an agent starting up does it before it takes any work', async () => {
      // The agent uses the real lock path; never trample on a lock something on this machine holds.
      if (existsSync(DEFAULT_LOCK_PATH)) throw new Error(`${DEFAULT_LOCK_PATH} exists: refusing to test`);
      const lists = listsBefore();
      const saved = await captureKilledMidway();
      let sys: TestSystem | undefined;
      try {
        await writeFile(DEFAULT_LOCK_PATH, JSON.stringify({ pid: await deadPid(), startTime: null, createdAt: 'then', state: saved }));
        sys = await startSystem({ parts: ['agent'] });
        expect(snapshot()).toEqual(before);
        expect(listsBefore()).toEqual(lists);
        expect(existsSync(DEFAULT_LOCK_PATH)).toBe(false);
      } finally {
        await sys?.stop();
        await rm(DEFAULT_LOCK_PATH, { force: true });
        await restoreTracefs(TRACEFS, saved);
      }
    });
  });

  describe('a capture session (blk tracer and trace_marker stand in for function_graph here)', () => {
    const marker = (text: string) => writeFile(join(TRACEFS, 'trace_marker'), `${text}\n`);
    const plan = (over: Partial<TracefsCapturePlan> = {}): TracefsCapturePlan => ({
      tracefs: TRACEFS,
      before: [
        { file: 'set_event_pid', value: String(process.pid) },
        { file: 'tracing_thresh', value: '0' },
      ],
      tracer: 'blk',
      after: [{ file: 'options/record-tgid', value: read('options/record-tgid') === '1' ? '0' : '1' }],
      durationMs: 1_500,
      maxBytes: 1024 * 1024,
      signal: new AbortController().signal,
      lockPath,
      perfToolsLockPath,
      pollMs: 50,
      ...over,
    });

    it('sets everything, streams trace_pipe for the duration and restores everything', async () => {
      const seenDuring: { tracer: string; pid: string; lock: unknown }[] = [];
      const writer = (async () => {
        for (let i = 0; i < 5; i++) {
          await new Promise((r) => setTimeout(r, 200));
          seenDuring.push({ tracer: read('current_tracer'), pid: read('set_event_pid'), lock: JSON.parse(await readFile(lockPath, 'utf8')) });
          await marker(`tracehound-marker-${i}`);
        }
      })();
      const started = Date.now();
      const out = await runTracefsCapture(plan());
      await writer;
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
      expect(out.aborted).toBe(false);
      expect(out.truncated).toBe(false);
      for (let i = 0; i < 5; i++) expect(out.text).toContain(`tracing_mark_write: tracehound-marker-${i}`);
      expect(seenDuring[0]?.tracer).toBe('blk');
      expect(seenDuring[0]?.pid).toBe(String(process.pid));
      // The lock file carries what to restore while the capture runs.
      expect(seenDuring[0]?.lock).toMatchObject({
        pid: process.pid,
        state: {
          version: 1,
          tracefs: TRACEFS,
          clearBuffer: true,
          files: expect.arrayContaining([{ file: 'current_tracer', value: 'nop' }, { file: 'set_event_pid', value: '' }]),
        },
      });
      expect(existsSync(lockPath)).toBe(false);
      expect(snapshot()).toEqual(before);
    });

    it('stops at once and restores everything when aborted mid-capture', async () => {
      const ac = new AbortController();
      setTimeout(() => void marker('tracehound-before-abort').then(() => setTimeout(() => ac.abort(), 300)), 200);
      const started = Date.now();
      const out = await runTracefsCapture(plan({ durationMs: 20_000, signal: ac.signal }));
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(out.aborted).toBe(true);
      expect(out.text).toContain('tracehound-before-abort');
      expect(existsSync(lockPath)).toBe(false);
      expect(snapshot()).toEqual(before);
    });

    it('stops at the output cap, keeping whole lines', async () => {
      let done = false;
      const writer = (async () => {
        for (let i = 0; !done && i < 1_000; i++) {
          // EBADF while recording is off (before the capture starts and after it stops).
          await marker(`tracehound-flood-${i}-${'x'.repeat(40)}`).catch(() => undefined);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const started = Date.now();
      const out = await runTracefsCapture(plan({ durationMs: 10_000, maxBytes: 400 }));
      done = true;
      await writer;
      expect(out.truncated).toBe(true);
      expect(Buffer.byteLength(out.text)).toBeLessThanOrEqual(400);
      expect(out.text.endsWith('\n')).toBe(true);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(snapshot()).toEqual(before);
    });

    it('does nothing at all when cancelled before it starts', async () => {
      const ac = new AbortController();
      ac.abort();
      expect(await runTracefsCapture(plan({ signal: ac.signal }))).toEqual({ text: '', truncated: false, aborted: true });
      expect(existsSync(lockPath)).toBe(false);
      expect(snapshot()).toEqual(before);
    });

    it('refuses when someone else is tracing, changing nothing', async () => {
      await writeTracefsFile(TRACEFS, 'current_tracer', 'blk');
      try {
        await expect(runTracefsCapture(plan())).rejects.toThrow(new ConflictError('ftrace is in use: current_tracer is blk (expected nop)'));
        expect(read('current_tracer')).toBe('blk');
        expect(existsSync(lockPath)).toBe(false);
      } finally {
        await writeTracefsFile(TRACEFS, 'current_tracer', 'nop');
      }
      expect(snapshot()).toEqual(before);
    });

    it("respects a live perf-tools lock and ignores a dead one", async () => {
      await writeFile(perfToolsLockPath, `${process.ppid}\n`);
      await expect(runTracefsCapture(plan())).rejects.toThrow(`ftrace is in use by perf-tools (pid ${process.ppid}, lock ${perfToolsLockPath})`);
      await writeFile(perfToolsLockPath, `${await deadPid()}\n`);
      const out = await runTracefsCapture(plan({ durationMs: 200 }));
      expect(out.aborted).toBe(false);
      expect(snapshot()).toEqual(before);
    });

    it('refuses a plan naming a file it cannot save, before changing anything', async () => {
      await expect(runTracefsCapture(plan({ after: [{ file: 'options/no-such-option', value: '1' }] }))).rejects.toThrow(/ENOENT/);
      expect(existsSync(lockPath)).toBe(false);
      expect(snapshot()).toEqual(before);
    });

    it('restores even when setting up fails half-way (a value the kernel rejects)', async () => {
      await expect(runTracefsCapture(plan({ tracer: 'no_such_tracer' }))).rejects.toThrow(/cannot write "no_such_tracer" to .*current_tracer: EINVAL/);
      expect(existsSync(lockPath)).toBe(false);
      expect(snapshot()).toEqual(before);
    });
  });
});
