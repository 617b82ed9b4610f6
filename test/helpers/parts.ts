import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { stringify } from 'yaml';
import { generateToken, hashToken } from '../../src/auth/tokens.ts';
import { INVESTIGATION_ID_PART } from '../../src/core/ids.ts';
import { isTerminal, type Investigation } from '../../src/core/investigation.ts';
import { findFreePort } from '../../src/net/free-port.ts';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../src/redis/embedded-redis.ts';
import { blocksOf, SLACK_SECRET, slashCommand } from './slack.ts';
import { startTcpProxy, type ProxyModeOptions, type TcpProxy } from './tcp-proxy.ts';

/**
 * The service as production runs it: `tracehound api`, `tracehound orchestrator` and `tracehound agent` as three
 * separate processes, each with its own path to object storage through a TCP proxy the test controls, and a private
 * redis-server the test can restart. Faults are injected into these real parts; nothing is mocked.
 */

export type PartName = 'api' | 'orchestrator' | 'agent';
export const PART_NAMES: readonly PartName[] = ['api', 'orchestrator', 'agent'];

const BIN = fileURLToPath(new URL('../../bin/tracehound.mjs', import.meta.url));
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `cond` every 50 ms; throws naming `what` if it does not hold within `timeoutMs`. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(50);
  }
  return Date.now() - t0;
}

/**
 * The agent's kill grace (CAPTURE_KILL_GRACE) in every rig: what "box + grace" means in the assertions. Above the 2 s
 * default because on a busy 2-core machine detaching and printing can take a second or more. (The "still printing
 * after 5 s" once seen in CI was bpftrace 0.17 missing its SIGINT; the time box's sentinel now stops it.)
 */
export const KILL_GRACE_MS = 10_000;
/** Heartbeat of the rig's agents: the registry forgets a dead agent after three of them. */
export const HEARTBEAT_MS = 1_000;
/** Short S3 bounds, so a hung or refusing storage shows within seconds (S3_CONNECT_TIMEOUT, S3_REQUEST_TIMEOUT). */
export const S3_CONNECT_TIMEOUT_MS = 1_000;
export const S3_REQUEST_TIMEOUT_MS = 2_000;
/** "Slow" storage: every 512 bytes a third of a second late, so a request outlives S3_REQUEST_TIMEOUT unless tiny. */
export const SLOW: ProxyModeOptions = { delayMs: 300, chunkBytes: 512 };
/** When a record has no `deadline`, how long after its creation it must have ended anyway. */
export const FALLBACK_DEADLINE_MS = 180_000;

const OUTPUT_TAIL_LINES = 200;
/** Loading the service takes a part ~4 s of CPU; on a busy 2-core machine, several times that. */
const START_TIMEOUT_MS = 90_000;

/** A line each part prints on stdout once started (entry/cli.ts). */
const STARTED = /tracehound (api|orchestrator|agent) (ready|running)/;

export interface PartExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One part in its own process: start, stop (SIGTERM), kill (SIGKILL), restart, and what it printed. */
export class PartProcess {
  private child: ChildProcess | null = null;
  private exit: Promise<PartExit> | null = null;
  private lines: string[] = [];
  /** Environment of the last start beyond the rig's own (kept by restart(), as a supervisor would). */
  private extraEnv: Record<string, string> = {};

  constructor(
    readonly name: PartName,
    private readonly baseEnv: () => Record<string, string>,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last lines the part printed (stdout and stderr), for failure messages. */
  output(): string {
    return this.lines.join('\n');
  }

  /**
   * Starts the part. By default resolves once it printed that it started; `wait: false` returns at once (start-up
   * faults look at what a part does while it cannot become ready).
   */
  async start(opts: { env?: Record<string, string>; wait?: boolean; timeoutMs?: number } = {}): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running (pid ${this.pid})`);
    if (opts.env) this.extraEnv = opts.env;
    this.lines = [];
    const child = spawn(process.execPath, [BIN, this.name], { env: { ...this.baseEnv(), ...this.extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let started = false;
    let partial = '';
    const onData = (chunk: Buffer) => {
      const text = partial + chunk.toString('utf8');
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      for (const l of parts) {
        if (STARTED.test(l)) started = true;
        this.lines.push(l);
      }
      this.lines.splice(0, Math.max(0, this.lines.length - OUTPUT_TAIL_LINES));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    this.exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    if (opts.wait === false) return;
    const deadline = Date.now() + (opts.timeoutMs ?? START_TIMEOUT_MS);
    while (!started) {
      if (!this.running) throw new Error(`${this.name} exited during start-up (${JSON.stringify(await this.exit)}):\n${this.output()}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not start within ${opts.timeoutMs ?? START_TIMEOUT_MS} ms:\n${this.output()}`);
      await sleep(50);
    }
  }

  /** Resolves when the process exits (at once if it is not running), or rejects after `timeoutMs`. */
  async exited(timeoutMs = 60_000): Promise<PartExit> {
    if (!this.exit) throw new Error(`${this.name} was never started`);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.name} (pid ${this.pid}) still running after ${timeoutMs} ms:\n${this.output()}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exit, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGTERM, as an operator or Kubernetes stops it; SIGKILL if it has not exited after 10 s. */
  async stop(): Promise<PartExit | null> {
    if (!this.running) return this.exit ? await this.exit : null;
    this.child!.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), 10_000);
    try {
      return await this.exited(15_000);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL: the crash a fault test injects. */
  async kill(): Promise<PartExit | null> {
    if (!this.running) return this.exit ? await this.exit : null;
    this.child!.kill('SIGKILL');
    return this.exited(10_000);
  }

  /** Starts it again with the same environment (unless `env` replaces the extra part). */
  async restart(opts: { env?: Record<string, string>; wait?: boolean } = {}): Promise<void> {
    await this.stop();
    await this.start(opts);
  }
}

/** A process as /proc shows it; `start` (clock ticks since boot) tells a reused pid from the one we saw. */
export interface ProcInfo {
  pid: number;
  ppid: number;
  /** R, S, D, Z...: a zombie has exited and only waits for its parent to reap it. */
  state: string;
  start: number;
  comm: string;
  cmdline: string;
}

function readProc(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may itself contain spaces and parentheses: split after the last ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    // fields[0] is the state (field 3 of stat), so field n is fields[n - 3].
    return { pid, ppid: Number(fields[1]), state: fields[0] ?? '?', start: Number(fields[19]), comm, cmdline };
  } catch {
    return null; // gone between readdir and read
  }
}

export function listProcesses(): ProcInfo[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => readProc(Number(d)))
    .filter((p): p is ProcInfo => p !== null);
}

export const isAlive = (p: ProcInfo): boolean => {
  const now = readProc(p.pid);
  return now !== null && now.start === p.start && now.state !== 'Z';
};

/** What a capture runs as: the time box and parent-death wrappers, bpftrace, or anything running a tool's program. */
const isCaptureProcess = (p: ProcInfo) => ['timeout', 'setpriv', 'bpftrace'].includes(p.comm) || /\/bpf\/[a-z-]+\//.test(p.cmdline);

/**
 * Records every capture process descending from the agent while it runs (timeout, setpriv, bpftrace, and whatever
 * they start), sampling /proc every 100 ms, so the test can check after the agent died that none of them lives on:
 * once re-parented to init they are no longer recognisable as the agent's. Other helpers of the agent (tsx's esbuild
 * service) are not captures and not recorded.
 */
export class CaptureWatch {
  private seen = new Map<string, ProcInfo>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly agentPid: () => number | undefined) {}

  start(): void {
    this.timer ??= setInterval(() => this.sample(), 100);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  sample(): void {
    const root = this.agentPid();
    if (root === undefined) return;
    const procs = listProcesses();
    const children = new Map<number, ProcInfo[]>();
    for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
    const stack = (children.get(root) ?? []).map((p) => ({ p, inCapture: false }));
    while (stack.length > 0) {
      const { p, inCapture } = stack.pop()!;
      const capture = inCapture || isCaptureProcess(p);
      if (capture) this.seen.set(`${p.pid}@${p.start}`, p);
      stack.push(...(children.get(p.pid) ?? []).map((c) => ({ p: c, inCapture: capture })));
    }
  }

  /** Every process the agent started so far whose command line mentions `text` (e.g. "bpf/bpftrace/execsnoop/program.bt"). */
  matching(text: string): ProcInfo[] {
    this.sample();
    return [...this.seen.values()].filter((p) => p.cmdline.includes(text));
  }

  /** Those of the recorded processes that still run. */
  alive(): ProcInfo[] {
    return [...this.seen.values()].filter(isAlive);
  }

  /** Waits until a process of the agent's whose command line mentions `text` runs; returns them all. */
  async waitFor(text: string, timeoutMs = 20_000): Promise<ProcInfo[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.matching(text).filter(isAlive);
      if (found.length > 0) return found;
      if (Date.now() > deadline) throw new Error(`no process of the agent's ran "${text}" within ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  /** Waits up to `timeoutMs` for every recorded process to end; returns those still alive then. */
  async settle(timeoutMs: number): Promise<ProcInfo[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const alive = this.alive();
      if (alive.length === 0 || Date.now() > deadline) return alive;
      await sleep(50);
    }
  }

  /** Cleanup after a failed assertion: no leaked capture may disturb the next test. */
  killSurvivors(): void {
    for (const p of this.alive()) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
}

const TRACEFS = '/sys/kernel/tracing';
const TRACEFS_FILES = ['current_tracer', 'tracing_on', 'set_ftrace_pid', 'set_graph_function', 'set_ftrace_filter'] as const;

/** The tracefs state a funcgraph capture changes; files this kernel lacks or refuses are recorded as such. */
export function tracefsState(): Record<string, string> {
  const state: Record<string, string> = {};
  for (const f of TRACEFS_FILES) {
    try {
      state[f] = readFileSync(join(TRACEFS, f), 'utf8').trim();
    } catch (err) {
      state[f] = `<${(err as NodeJS.ErrnoException).code ?? 'error'}>`;
    }
  }
  return state;
}

/** The rig's own redis-server, which a test may restart empty on the same port (the "Redis restart" fault). */
export class RigRedis {
  private server: EmbeddedRedis | null = null;
  private port = 0;
  private password = '';
  url = '';

  async start(): Promise<void> {
    // The same port and password each time, so the parts' REDIS_URL still reaches it after a restart.
    this.server = await startEmbeddedRedis({ host: '127.0.0.1', port: this.port, ...(this.password ? { password: this.password } : {}) });
    this.port = this.server.port;
    this.password = this.server.password;
    this.url = this.server.url;
  }

  async stop(): Promise<void> {
    await this.server?.stop();
    this.server = null;
  }

  /** Stops it and starts a new one on the same port without persistence: every key is gone. */
  async restart(pauseMs = 0): Promise<void> {
    await this.stop();
    await sleep(pauseMs);
    const before = this.url;
    await this.start();
    if (this.url !== before) throw new Error(`Redis came back as ${this.url}, not ${before}: the parts could not reconnect`);
  }
}

export interface ApiAnswer {
  status: number;
  json: Record<string, unknown>;
  text: string;
  contentType: string | null;
  ms: number;
}

export interface Rig {
  prefix: string;
  node: string;
  token: string;
  apiUrl: string;
  redis: RigRedis;
  /** Each part's own way to object storage, so a fault can hit the agent's uploads and not the orchestrator's. */
  s3: Record<PartName, TcpProxy>;
  parts: Record<PartName, PartProcess>;
  captures: CaptureWatch;
  /** Starts the API, then the agent and the orchestrator; each resolves once started. */
  startAll(): Promise<void>;
  get(path: string, opts?: { timeoutMs?: number; token?: string | null }): Promise<ApiAnswer>;
  post(path: string, body: unknown, opts?: { timeoutMs?: number }): Promise<ApiAnswer>;
  /** POSTs an exec-storm investigation on the rig's node; returns its id. */
  investigate(opts?: { duration?: string; playbook?: string }): Promise<string>;
  /** The same from Slack (`/investigate exec-storm node=… for=…`), its follow-ups posted to `responseUrl`. */
  investigateFromSlack(responseUrl: string, opts?: { duration?: string }): Promise<string>;
  /** Polls the record until `until` holds (default: ended), tolerating a part being down meanwhile. */
  waitFor(id: string, until?: (inv: Investigation) => boolean, timeoutMs?: number): Promise<Investigation>;
  /** Waits for the record to end, no longer than its deadline allows (plus `graceMs` to observe it). */
  waitForEnd(id: string, graceMs?: number): Promise<Investigation>;
  /** Everything the parts printed lately, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

/** When the record must have ended: its `deadline` (ISO time or epoch ms), else FALLBACK_DEADLINE_MS after creation. */
export function deadlineOf(inv: Investigation): { at: number; fromRecord: boolean } {
  const d = (inv as Investigation & { deadline?: unknown }).deadline;
  const at = typeof d === 'number' ? d : typeof d === 'string' ? Date.parse(d) : Number.NaN;
  if (Number.isFinite(at)) return { at, fromRecord: true };
  return { at: Date.parse(inv.createdAt) + FALLBACK_DEADLINE_MS, fromRecord: false };
}

/**
 * Starts a rig: a private Redis, three proxies to the run's S3 (all passing), an access file with an admin token,
 * and the three parts (not yet started: call startAll(), or start them one by one with faults in place).
 */
export async function startRig(opts: { label: string; env?: Record<string, string>; partEnv?: Partial<Record<PartName, Record<string, string>>> }): Promise<Rig> {
  const s3 = inject('s3');
  const root = mkdtempSync(join(tmpdir(), `th-faults-${opts.label}-`));
  const prefix = `th-fault-${opts.label}-${randomBytes(4).toString('hex')}`;
  const node = `fault-${opts.label}-${randomBytes(3).toString('hex')}`;
  const token = generateToken();
  const accessFile = join(root, 'access.yaml');
  writeFileSync(accessFile, stringify({ tokens: [{ name: 'fault-admin', sha256: hashToken(token), scopes: ['admin'] }] }), { mode: 0o600 });

  const redis = new RigRedis();
  await redis.start();
  const target = new URL(s3.endpoint);
  const proxies = {} as Record<PartName, TcpProxy>;
  for (const p of PART_NAMES) proxies[p] = await startTcpProxy(target.hostname, Number(target.port));
  const apiPort = await findFreePort('127.0.0.1');
  const apiUrl = `http://127.0.0.1:${apiPort}`;

  const envOf = (part: PartName) => (): Record<string, string> => ({
    // Only what a part needs: the test runner's own variables (VITEST, NODE_OPTIONS...) must not leak in.
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: process.env.HOME ?? root,
    TMPDIR: tmpdir(),
    REDIS_URL: redis.url,
    S3_ENDPOINT: `http://127.0.0.1:${proxies[part].port}`,
    S3_BUCKET: s3.bucket,
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    S3_CONNECT_TIMEOUT: `${S3_CONNECT_TIMEOUT_MS}ms`,
    S3_REQUEST_TIMEOUT: `${S3_REQUEST_TIMEOUT_MS}ms`,
    S3_MAX_ATTEMPTS: '2',
    QUEUE_PREFIX: prefix,
    NODE_NAME: node,
    ACCESS_FILE: accessFile,
    // One data directory per part, kept across its restarts (the agent's spool lives there).
    DATA_DIR: join(root, part),
    HOST: '127.0.0.1',
    PORT: String(apiPort),
    PUBLIC_BASE_URL: apiUrl,
    INVENTORY: 'none',
    // Warnings and errors only (what an operator would look at); TRACEHOUND_FAULT_LOG_LEVEL=info to see more.
    LOG_LEVEL: process.env.TRACEHOUND_FAULT_LOG_LEVEL ?? 'warn',
    NODE_HEARTBEAT: `${HEARTBEAT_MS}ms`,
    CAPTURE_KILL_GRACE: `${KILL_GRACE_MS}ms`,
    RATE_LIMIT: '1000/1m',
    LINK_SECRET: 'tracehound-fault-suite-link-secret-0123456789',
    // Chat follow-ups go where NOTIFY_URL_HOSTS (in opts.env) allows: the test's own hook server.
    SLACK_SIGNING_SECRET: SLACK_SECRET,
    ...opts.env,
    ...opts.partEnv?.[part],
  });
  const parts = {
    api: new PartProcess('api', envOf('api')),
    orchestrator: new PartProcess('orchestrator', envOf('orchestrator')),
    agent: new PartProcess('agent', envOf('agent')),
  };
  const captures = new CaptureWatch(() => parts.agent.pid);
  captures.start();
  // A test that throws must not leave parts running for the rest of the run.
  const killAll = () => {
    for (const p of Object.values(parts)) if (p.running) process.kill(p.pid!, 'SIGKILL');
  };
  process.once('exit', killAll);

  const call = async (method: string, path: string, body: unknown, o: { timeoutMs?: number; token?: string | null } = {}): Promise<ApiAnswer> => {
    const t0 = performance.now();
    const bearer = o.token === undefined ? token : o.token;
    const res = await fetch(`${apiUrl}${path}`, {
      method,
      headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
    });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // artifact bytes, or an empty body
    }
    return { status: res.status, json, text, contentType: res.headers.get('content-type'), ms: performance.now() - t0 };
  };
  const logs = () => PART_NAMES.map((p) => `--- ${p} (pid ${parts[p].pid ?? '-'}) ---\n${parts[p].output()}`).join('\n');

  const rig: Rig = {
    prefix,
    node,
    token,
    apiUrl,
    redis,
    s3: proxies,
    parts,
    captures,
    async startAll() {
      await parts.api.start();
      await Promise.all([parts.agent.start(), parts.orchestrator.start()]);
    },
    get: (path, o) => call('GET', path, undefined, o),
    post: (path, body, o) => call('POST', path, body, o),
    async investigate(o = {}) {
      const res = await call('POST', '/v1/investigations', { playbook: o.playbook ?? 'exec-storm', target: { node }, params: { duration: o.duration ?? '2s' } });
      if (res.status !== 202) throw new Error(`POST /v1/investigations answered ${res.status}: ${res.text}`);
      return res.json.id as string;
    },
    async investigateFromSlack(responseUrl, o = {}) {
      const ack = await slashCommand(apiUrl, `exec-storm node=${node} for=${o.duration ?? '2s'}`, { responseUrl });
      const id = new RegExp(INVESTIGATION_ID_PART).exec(blocksOf(ack.json).text)?.[0];
      if (ack.status !== 200 || !id) throw new Error(`/investigate answered ${ack.status}: ${ack.body.slice(0, 1000)}`);
      return id;
    },
    async waitFor(id, until = (inv) => isTerminal(inv.status), timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      let last: unknown;
      for (;;) {
        try {
          const res = await call('GET', `/v1/investigations/${id}`, undefined, { timeoutMs: 5_000 });
          if (res.status === 200) {
            const inv = res.json as unknown as Investigation;
            if (until(inv)) return inv;
          }
          last = res.json;
        } catch (err) {
          last = `API unreachable: ${(err as Error).message}`;
        }
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting on ${id}: ${JSON.stringify(last).slice(0, 3000)}\n${logs()}`);
        await sleep(100);
      }
    },
    async waitForEnd(id, graceMs = 5_000) {
      const first = await rig.waitFor(id, () => true, 10_000);
      const { at } = deadlineOf(first);
      return rig.waitFor(id, undefined, Math.max(0, at - Date.now()) + graceMs);
    },
    logs,
    async stop() {
      captures.stop();
      await Promise.all(Object.values(parts).map((p) => p.stop().catch(() => p.kill())));
      captures.killSurvivors();
      process.removeListener('exit', killAll);
      await Promise.all(Object.values(proxies).map((p) => p.close()));
      await redis.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
  return rig;
}
