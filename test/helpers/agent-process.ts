import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestSystem } from './system.ts';

const BIN = fileURLToPath(new URL('../../bin/tracehound.mjs', import.meta.url));

/** A `tracehound agent` in its own process, pointed at the test system; resolves once it has registered. */
export async function startAgentProcess(sys: TestSystem, name: string, env: Record<string, string> = {}): Promise<ChildProcess> {
  const agent = spawn(process.execPath, [BIN, 'agent'], { env: { ...process.env, ...sys.env, NODE_NAME: name, LOG_LEVEL: 'warn', ...env }, stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const nodes = (await sys.get('/v1/nodes')).json.items as { name: string }[];
    if (nodes.some((n) => n.name === name)) return agent;
    await new Promise((r) => setTimeout(r, 100));
  }
  agent.kill('SIGKILL');
  throw new Error(`agent ${name} did not register`);
}

/** Kills an agent process and everything it started (its captures run in their own process groups). */
export function killAgent(agent: ChildProcess): void {
  let children: number[] = [];
  try {
    children = execFileSync('pgrep', ['-P', String(agent.pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    // pgrep exits 1 when there are none
  }
  agent.kill('SIGKILL');
  for (const pid of children) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * SIGKILLs the agent process alone, as a crash or the OOM killer would, leaving its captures to the guards that
 * tie them to the agent (killAgent's clean-up of its process groups would hide a capture that outlives it).
 * Returns the process groups of its captures (each led by `timeout`), as they were just before the kill.
 */
export function crashAgent(agent: ChildProcess): number[] {
  let children: number[] = [];
  try {
    children = execFileSync('pgrep', ['-P', String(agent.pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    // pgrep exits 1 when there are none
  }
  agent.kill('SIGKILL');
  return children;
}
