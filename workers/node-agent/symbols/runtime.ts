import { basename } from 'node:path';
import type { JitRuntime } from '../../../bpf/bpftrace/profile/result.ts';

export interface DetectedRuntime {
  runtime: JitRuntime;
  /** "3.11" for python; null when neither binary nor library names it. */
  version: string | null;
}

/**
 * Which JIT runtime a process runs, from its executable and the libraries it maps: node or libnode, libjvm.so,
 * python3.X or libpython3.X, libcoreclr.so. The library wins over the binary's name: an embedder (a JNI host, a
 * custom .NET host, an app embedding libnode) is still that runtime, and `python3` is often a link to python3.X.
 */
export function detectRuntime(exe: string | null, mappedPaths: readonly string[]): DetectedRuntime | null {
  for (const path of mappedPaths) {
    const lib = basename(path);
    if (lib === 'libjvm.so') return { runtime: 'java', version: null };
    if (lib === 'libcoreclr.so') return { runtime: 'dotnet', version: null };
    const py = /^libpython(\d+\.\d+)[a-z]*\.so/.exec(lib);
    if (py) return { runtime: 'python', version: py[1] ?? null };
    if (/^libnode\.so(\.\d+)*$/.test(lib)) return { runtime: 'node', version: null };
  }
  if (exe === null) return null;
  const name = basename(exe);
  const py = /^python(\d+\.\d+)[a-z]*$/.exec(name);
  if (py) return { runtime: 'python', version: py[1] ?? null };
  if (/^python\d*$/.test(name)) return { runtime: 'python', version: null };
  if (/^node(js)?(\d+)?$/.test(name)) return { runtime: 'node', version: null };
  if (name === 'java') return { runtime: 'java', version: null };
  if (name === 'dotnet') return { runtime: 'dotnet', version: null };
  return null;
}

/** The pid a process has in its own pid namespace (last NSpid field of /proc/<pid>/status): a container's /tmp/perf-<pid>.map uses it. */
export function namespacePid(status: string): number | null {
  const line = /^NSpid:\s*(.*)$/m.exec(status);
  const last = line?.[1]?.trim().split(/\s+/).pop();
  const pid = Number(last);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

/** The effective uid (second Uid field of /proc/<pid>/status), in the agent's user namespace. */
export function effectiveUid(status: string): number | null {
  const fields = /^Uid:\s*(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/);
  const uid = Number(fields?.[1]);
  return fields && Number.isSafeInteger(uid) && uid >= 0 ? uid : null;
}
