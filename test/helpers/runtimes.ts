// Language runtimes the JIT profiling tests run as real processes: a JDK (java, javac, jcmd; 17+ for
// `jcmd <pid> Compiler.perfmap`) and a Python 3.12 interpreter (`-X perf`). Like BPF (helpers/bpf.ts), a missing one
// skips its suite with the reason in the suite's name, and fails it instead under TRACEHOUND_REQUIRE_BPF=1 (CI).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export type Runtime<T> = ({ ok: true } & T) | { ok: false; reason: string };

export interface Jdk {
  java: string;
  javac: string;
  jcmd: string;
  /** "17.0.15" */
  version: string;
}

export interface Python {
  /** The interpreter itself (sys.executable), not a wrapper: pyenv's shims are shell scripts until they exec. */
  executable: string;
  /** "3.12" */
  version: string;
}

const REQUIRED = process.env.TRACEHOUND_REQUIRE_BPF === '1';

/** What a command printed, or null when it cannot be run or fails. */
function run(command: string, args: string[]): { stdout: string; stderr: string } | null {
  const res = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  return res.error === undefined && res.status === 0 ? { stdout: res.stdout, stderr: res.stderr } : null;
}

/** The JDK of `java` on the PATH (or JAVA_HOME's), with its javac and jcmd beside it. */
function findJdk(): Runtime<Jdk> {
  const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  // The settings (on stderr) name java.home: the JDK directory that /usr/bin/java's link chain ends in.
  const settings = run(java, ['-XshowSettings:properties', '-version'])?.stderr;
  if (settings === undefined) return { ok: false, reason: `${java} -version failed or no java installed` };
  const home = /^\s*java\.home = (.+)$/m.exec(settings)?.[1]?.trim();
  const version = /^\s*java\.version = (\S+)$/m.exec(settings)?.[1];
  if (home === undefined || version === undefined) return { ok: false, reason: `${java} did not say its java.home and version` };
  if (!(Number(version.split('.')[0]) >= 17)) return { ok: false, reason: `java ${version} is older than 17 (jcmd Compiler.perfmap came in JDK 17)` };
  const tools = { java: join(home, 'bin', 'java'), javac: join(home, 'bin', 'javac'), jcmd: join(home, 'bin', 'jcmd') };
  for (const [name, path] of Object.entries(tools)) {
    if (!existsSync(path)) return { ok: false, reason: `no ${name} beside java in ${join(home, 'bin')} (a JRE without the JDK tools?)` };
  }
  return { ok: true, ...tools, version };
}

/**
 * A CPython of the given minor version: TRACEHOUND_PYTHON<major><minor> if set, else python3.X on the PATH, else
 * pyenv's build of it ($PYENV_ROOT/versions/3.X.*, newest first) — a pyenv shim only runs the version pyenv selects.
 */
function findPython(minor: string): Runtime<Python> {
  const env = process.env[`TRACEHOUND_PYTHON${minor.replace('.', '')}`];
  const pyenvRoot = process.env.PYENV_ROOT ?? join(homedir(), '.pyenv');
  const versions = join(pyenvRoot, 'versions');
  const pyenvBuilds = existsSync(versions)
    ? readdirSync(versions)
        .filter((v) => v.startsWith(`${minor}.`))
        .sort((a, b) => b.localeCompare(a, 'en', { numeric: true }))
        .map((v) => join(versions, v, 'bin', `python${minor}`))
    : [];
  const candidates = env ? [env] : [`python${minor}`, ...pyenvBuilds];
  for (const candidate of candidates) {
    const res = run(candidate, ['-c', 'import sys; print(sys.executable); print("%d.%d" % sys.version_info[:2])']);
    const [executable, version] = res?.stdout.trim().split('\n') ?? [];
    if (executable && version === minor) return { ok: true, executable, version };
  }
  return { ok: false, reason: `no Python ${minor} found (tried ${candidates.join(', ')}; set TRACEHOUND_PYTHON${minor.replace('.', '')})` };
}

export const JDK = findJdk();
export const PYTHON312 = findPython('3.12');

/** Skip a suite that needs this runtime where it is missing — unless CI requires the whole e2e set to run. */
export const skipRuntime = (r: Runtime<object>): boolean => !r.ok && !REQUIRED;
export const runtimeSuiteName = (name: string, r: Runtime<object>): string => (r.ok ? name : `${name} [runtime unavailable: ${r.reason}]`);

/** Fails the suite (in beforeAll) when the runtime is missing: reached only when CI required it. */
export function assertRuntime<T>(r: Runtime<T>): asserts r is { ok: true } & T {
  if (!r.ok) throw new Error(`TRACEHOUND_REQUIRE_BPF=1 but a runtime this test needs is missing: ${r.reason}`);
}
