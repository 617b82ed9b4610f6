import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { release } from 'node:os';
import { promisify } from 'node:util';
import { unmetByCapabilities, type Capabilities, type Requirement } from '../../src/core/capabilities.ts';

const run = promisify(execFile);

export { Capabilities } from '../../src/core/capabilities.ts';

const read = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
};

/** tracefs is usually mounted by the distribution; on minimal VMs the agent (privileged) mounts it, as perf-tools do. */
async function ensureTracefs(path: string): Promise<string | null> {
  if (existsSync(`${path}/available_tracers`)) return path;
  if (existsSync('/sys/kernel/debug/tracing/available_tracers')) return '/sys/kernel/debug/tracing';
  try {
    await mkdir(path, { recursive: true });
    await run('mount', ['-t', 'tracefs', 'tracefs', path]);
  } catch {
    return null;
  }
  return existsSync(`${path}/available_tracers`) ? path : null;
}

async function probeBpftrace(binary: string): Promise<Capabilities['bpftrace']> {
  try {
    const { stdout } = await run(binary, ['--version'], { timeout: 5000 });
    const version = stdout.trim();
    // --version succeeds even where programs cannot load; a trivial program proves the verifier path works.
    await run(binary, ['-e', 'BEGIN { exit(); }'], { timeout: 15_000 });
    return { available: true, version, reason: null };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const reason =
      e.code === 'ENOENT' ? `${binary} not found (apt-get install -y bpftrace)` : (e.stderr?.trim() || e.message).slice(0, 500);
    return { available: false, version: null, reason };
  }
}

export async function detectCapabilities(opts: { tracefs: string; bpftrace: string; cgroupRoot: string }): Promise<Capabilities> {
  const tracefs = await ensureTracefs(opts.tracefs);
  const tracers = tracefs ? (read(`${tracefs}/available_tracers`) ?? '').trim().split(/\s+/).filter(Boolean) : [];
  return {
    kernel: release(),
    arch: process.arch,
    btf: existsSync('/sys/kernel/btf/vmlinux'),
    tracefs,
    tracers,
    perfEvents: existsSync('/proc/sys/kernel/perf_event_paranoid'),
    kprobes: tracefs !== null && existsSync(`${tracefs}/kprobe_events`),
    bpftrace: await probeBpftrace(opts.bpftrace),
    cgroupV2: existsSync(`${opts.cgroupRoot}/cgroup.procs`) ? opts.cgroupRoot : null,
  };
}

/** Why this node cannot satisfy a requirement, or null when it can; tracepoints are looked up in tracefs here. */
export function unmetRequirement(req: Requirement, caps: Capabilities): string | null {
  const known = unmetByCapabilities(req, caps);
  if (known !== undefined) return known;
  if (req.kind !== 'tracepoint') return null;
  return existsSync(`${caps.tracefs}/events/${req.name}`) ? null : `tracepoint ${req.name} not found on kernel ${caps.kernel}`;
}
