import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { BpftraceTool } from '../../bpf/tool.ts';
import { BPFTRACE_SENTINEL_ARGS, runTimeBoxed } from '../../workers/node-agent/time-box.ts';

/** Whether real BPF captures can run here, and if not, why — printed in the skipped suite's name. */
function check(): { ok: true } | { ok: false; reason: string } {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not running as root (BPF and cgroup moves need root)' };
  if (!existsSync('/sys/fs/cgroup/unified/cgroup.procs') && !existsSync('/sys/fs/cgroup/cgroup.procs')) {
    return { ok: false, reason: 'no cgroup v2 hierarchy' };
  }
  try {
    execFileSync('bpftrace', ['-e', 'BEGIN { exit(); }'], { stdio: 'pipe', timeout: 20_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    return { ok: false, reason: e.code === 'ENOENT' ? 'bpftrace not installed' : `bpftrace cannot load programs: ${e.stderr?.toString().trim() ?? e.message}` };
  }
  return { ok: true };
}

export const BPF = check();
const REQUIRED = process.env.TRACEHOUND_REQUIRE_BPF === '1';

/** Skip BPF suites where BPF cannot run, saying why — unless CI requires BPF, in which case they fail instead. */
export const skipBpf = !BPF.ok && !REQUIRED;
export const bpfSuiteName = (name: string) => (BPF.ok ? name : `${name} [BPF unavailable: ${BPF.reason}]`);

export function assertBpf(): void {
  if (!BPF.ok) throw new Error(`TRACEHOUND_REQUIRE_BPF=1 but BPF is unavailable: ${BPF.reason}`);
}

/**
 * Loads a tool's program in bpftrace for a second after it attached: does it attach and print? Through the agent's
 * time box and its sentinel, as the agent runs it: bpftrace 0.17 can miss a SIGINT and run on (a plain
 * `timeout -s INT 2` hung a loaded CI run; see time-box.ts), and a hard kill follows if all else fails.
 */
export async function runProgramBriefly(tool: BpftraceTool, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const run = await runTimeBoxed({
    command: 'bpftrace',
    args: ['-f', 'json', tool.programFile, ...args],
    env: tool.env,
    durationMs: 1_000,
    killGraceMs: 10_000,
    maxOutputBytes: tool.limits.maxOutputBytes,
    startMarker: '"attached_probes"',
    startupMs: 30_000,
    sentinelArgs: BPFTRACE_SENTINEL_ARGS,
  });
  return { stdout: run.stdout, stderr: run.stderr };
}
