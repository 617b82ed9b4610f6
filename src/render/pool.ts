/**
 * A bounded pool of worker threads for the API's CPU-heavy renders (tasks.ts): a diff of two 30 MB profiles takes
 * seconds of CPU, which on the event loop would stall every other request, /healthz included.
 *
 * Bounds, so a burst of renders cannot take the process's memory: at most `size` renders run and `maxQueue` more
 * are admitted (loading their inputs or waiting for a thread). Past that, `run` refuses at once with an
 * OverloadedError (503 + Retry-After) — before the caller downloads anything, since admission comes first.
 *
 * Threads start on first use and stop after `idleMs` without work: an API that never renders pays nothing, and a
 * thread that rendered a large diff gives its heap back.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { OverloadedError, ServiceUnavailableError } from '../core/errors.ts';
import { renderPoolTasks, renderTasks } from '../metrics.ts';
import { transferables, type RenderKind, type RenderTask } from './tasks.ts';

export interface RenderPoolOptions {
  /** Threads rendering at once (RENDER_POOL_SIZE). */
  size: number;
  /** Renders admitted beyond those running (RENDER_QUEUE_MAX). */
  maxQueue: number;
  /** A thread idle this long stops; default 30 s. */
  idleMs?: number;
  log: Logger;
}

interface Job {
  id: number;
  task: RenderTask;
  resolve(out: Uint8Array<ArrayBuffer>): void;
  reject(err: Error): void;
}

interface Thread {
  worker: Worker;
  job: Job | null;
  startedAt: number;
  idleTimer: NodeJS.Timeout | null;
}

/** What crossed the thread boundary is always a fresh ArrayBuffer (moved or cloned), never a shared one. */
type Reply = { id: number; ok: true; out: Uint8Array<ArrayBuffer> } | { id: number; ok: false; error: { name: string; message: string } };

declare global {
  /** true in the build (scripts/build.mjs defines it); absent when running from the TypeScript sources. */
  var TRACEHOUND_BUILT: boolean | undefined;
}

/** Built, the worker is its own bundle in dist/; from the sources, worker.mjs registers tsx and loads worker.ts. */
const WORKER_ENTRY = globalThis.TRACEHOUND_BUILT
  ? new URL('../../dist/render-worker.mjs', import.meta.url)
  : new URL('./worker.mjs', import.meta.url);

/** Retry-After bounds (s): never "now", never so far that a client gives up on a pool that drains in seconds. */
const MIN_RETRY_SEC = 1;
const MAX_RETRY_SEC = 60;

export class RenderPool {
  private readonly threads = new Set<Thread>();
  private readonly idle: Thread[] = [];
  private readonly queue: Job[] = [];
  private admitted = 0;
  private nextId = 0;
  private closed = false;
  /** Moving average of render times, for Retry-After; undefined until the first render ends. */
  private meanMs: number | undefined;

  constructor(private readonly opts: RenderPoolOptions) {}

  /**
   * Admits a render, then loads its inputs (`load`, typically downloads) and runs it on a worker thread.
   * Throws OverloadedError without calling `load` when the pool and its queue are full.
   */
  async run(kind: RenderKind, load: () => Promise<RenderTask>): Promise<Uint8Array<ArrayBuffer>> {
    if (this.closed) throw new ServiceUnavailableError('the API is shutting down');
    if (this.admitted >= this.opts.size + this.opts.maxQueue) {
      renderTasks.inc({ kind, outcome: 'refused' });
      const retry = this.retryAfterSec();
      throw new OverloadedError(
        `all ${this.opts.size} render threads are busy and ${this.opts.maxQueue} more renders wait (RENDER_POOL_SIZE, RENDER_QUEUE_MAX); try again in ${retry} s`,
        retry,
      );
    }
    this.admitted++;
    renderPoolTasks.inc({ state: 'admitted' });
    try {
      const task = await load();
      const out = await new Promise<Uint8Array<ArrayBuffer>>((resolve, reject) => {
        // The pool may have closed while the inputs loaded: no thread may start after close().
        if (this.closed) return reject(new ServiceUnavailableError('the API is shutting down'));
        this.queue.push({ id: ++this.nextId, task, resolve, reject });
        this.pump();
      }).catch((err: unknown) => {
        if (!(err instanceof ServiceUnavailableError)) renderTasks.inc({ kind, outcome: 'failed' });
        throw err;
      });
      renderTasks.inc({ kind, outcome: 'done' });
      return out;
    } finally {
      this.admitted--;
      renderPoolTasks.dec({ state: 'admitted' });
    }
  }

  /** Stops every thread; renders waiting or running are refused. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new ServiceUnavailableError('the API is shutting down'));
    await Promise.all([...this.threads].map((t) => this.stop(t)));
  }

  private retryAfterSec(): number {
    // About when a thread frees up: one render's time, more when renders already wait their turn.
    const ms = (this.meanMs ?? 1000) * (1 + this.queue.length / this.opts.size);
    return Math.min(MAX_RETRY_SEC, Math.max(MIN_RETRY_SEC, Math.ceil(ms / 1000)));
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const thread = this.idle.pop() ?? (this.threads.size < this.opts.size ? this.spawn() : undefined);
      if (!thread) return;
      const job = this.queue.shift()!;
      if (thread.idleTimer) clearTimeout(thread.idleTimer);
      thread.idleTimer = null;
      thread.job = job;
      thread.startedAt = performance.now();
      renderPoolTasks.inc({ state: 'running' });
      try {
        thread.worker.postMessage({ id: job.id, task: job.task }, transferables(job.task));
      } catch (err) {
        this.finish(thread);
        job.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  private spawn(): Thread {
    // execArgv: [] — from the sources the worker registers tsx itself (worker.mjs); inheriting `tsx`'s own --import
    // would load it twice.
    const worker = new Worker(WORKER_ENTRY, { execArgv: [] });
    // The HTTP server keeps the process alive; a render thread alone must not.
    worker.unref();
    const thread: Thread = { worker, job: null, startedAt: 0, idleTimer: null };
    this.threads.add(thread);
    worker.on('message', (reply: Reply) => {
      const job = thread.job;
      if (!job || job.id !== reply.id) return;
      const ms = performance.now() - thread.startedAt;
      this.meanMs = this.meanMs === undefined ? ms : 0.7 * this.meanMs + 0.3 * ms;
      this.finish(thread);
      if (reply.ok) {
        job.resolve(reply.out);
      } else {
        const err = new Error(reply.error.message);
        err.name = reply.error.name;
        job.reject(err);
      }
      this.release(thread);
    });
    worker.on('error', (err) => {
      this.opts.log.error({ err }, 'render worker thread failed');
      this.drop(thread, err);
    });
    worker.on('exit', (code) => this.drop(thread, new Error(`render worker thread exited (code ${code})`)));
    return thread;
  }

  private finish(thread: Thread): void {
    if (thread.job) renderPoolTasks.dec({ state: 'running' });
    thread.job = null;
  }

  /** Back to the idle list, or straight to the next waiting render. */
  private release(thread: Thread): void {
    if (this.closed || !this.threads.has(thread)) return;
    this.idle.push(thread);
    thread.idleTimer = setTimeout(() => void this.stop(thread), this.opts.idleMs ?? 30_000);
    thread.idleTimer.unref();
    this.pump();
  }

  /** A thread that died: its render fails with the reason, and a waiting render gets a fresh thread. */
  private drop(thread: Thread, err: Error): void {
    if (!this.threads.delete(thread)) return;
    const i = this.idle.indexOf(thread);
    if (i >= 0) this.idle.splice(i, 1);
    if (thread.idleTimer) clearTimeout(thread.idleTimer);
    const job = thread.job;
    this.finish(thread);
    job?.reject(this.closed ? new ServiceUnavailableError('the API is shutting down') : err);
    if (!this.closed) this.pump();
  }

  /** Its 'exit' event then takes it out of the pool (drop). */
  private async stop(thread: Thread): Promise<void> {
    await thread.worker.terminate();
  }
}
