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

/** Whether `bpftrace --info` (stdout and stderr: 0.17 prints it on stderr) found fentry ("kfunc: yes"). */
export const saysFentry = (info: string): boolean => /^\s*kfunc: yes$/m.test(info);

/**
 * fentry (bpftrace's kfunc) works where the kernel has BPF trampolines and BTF: bpftrace --info probes for it
 * ("kfunc: yes"). Its kprobe line says only how bpftrace was built, so kprobes are read from tracefs instead.
 */
async function probeFentry(binary: string, btf: boolean): Promise<boolean> {
  if (!btf) return false;
  try {
    const { stdout, stderr } = await run(binary, ['--info'], { timeout: 30_000 });
    return saysFentry(`${stdout}\n${stderr}`);
  } catch {
    return false;
  }
}

export async function detectCapabilities(opts: { tracefs: string; bpftrace: string; cgroupRoot: string }): Promise<Capabilities> {
  const tracefs = await ensureTracefs(opts.tracefs);
  const tracers = tracefs ? (read(`${tracefs}/available_tracers`) ?? '').trim().split(/\s+/).filter(Boolean) : [];
  const btf = existsSync('/sys/kernel/btf/vmlinux');
  const bpftrace = await probeBpftrace(opts.bpftrace);
  return {
    kernel: release(),
    arch: process.arch,
    btf,
    tracefs,
    tracers,
    perfEvents: existsSync('/proc/sys/kernel/perf_event_paranoid'),
    kprobes: tracefs !== null && existsSync(`${tracefs}/kprobe_events`),
    fentry: bpftrace.available && (await probeFentry(opts.bpftrace, btf)),
    uprobes: tracefs !== null && existsSync(`${tracefs}/uprobe_events`),
    bpftrace,
    cgroupV2: existsSync(`${opts.cgroupRoot}/cgroup.procs`) ? opts.cgroupRoot : null,
  };
}

/** The kernel functions kprobes and fentry can attach to: read once, on the first requirement that names one. */
let traceable: Set<string> | null = null;
function traceableFunctions(tracefs: string): Set<string> {
  if (traceable) return traceable;
  // Lines are "name" or "name [module]".
  const text = read(`${tracefs}/available_filter_functions`) ?? '';
  traceable = new Set(text.split('\n').map((l) => l.split(' ')[0]!).filter(Boolean));
  return traceable;
}

/** Why this node cannot satisfy a requirement, or null when it can; tracepoints and functions are looked up here. */
export function unmetRequirement(req: Requirement, caps: Capabilities): string | null {
  const known = unmetByCapabilities(req, caps);
  if (known !== undefined) return known;
  if (req.kind === 'tracepoint') {
    return existsSync(`${caps.tracefs}/events/${req.name}`) ? null : `tracepoint ${req.name} not found on kernel ${caps.kernel}`;
  }
  if ((req.kind === 'kprobe' || req.kind === 'fentry') && req.function !== undefined) {
    if (!caps.tracefs) return 'tracefs is not mounted and could not be mounted';
    return traceableFunctions(caps.tracefs).has(req.function)
      ? null
      : `kernel function ${req.function} cannot be probed on kernel ${caps.kernel} (not in available_filter_functions: inlined, renamed or notrace)`;
  }
  return null;
}
