import type { ProcessSymbols, ProfileResult } from '../../bpf/bpftrace/profile/result.ts';
import { formatCount, formatShare, plural } from '../core/format.ts';
import type { Finding, Step } from '../core/investigation.ts';
import { fieldEvidence, rowEvidence, wholeArtifacts } from './evidence.ts';

/** From this share of samples on, unnamed frames or cut stacks are worth a finding of their own. */
const NOTABLE_SHARE = 0.1;

interface NodeProfile {
  node: string;
  result: ProfileResult;
}

/** "python3.11 (pid 41)": the binary a person would recognize (the kernel's thread name when the process was gone). */
const who = (p: ProcessSymbols): string => `${p.exe ? (p.exe.split('/').pop() ?? p.exe) : p.comm} (pid ${p.pid})`;

/** Python could not write a perf map before 3.12; null when the version is not known. */
function pythonBefore312(version: string | null): boolean | null {
  if (version === null) return null;
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major < 3 || (major === 3 && minor < 12);
}

/** The exact way to make this process's runtime write /tmp/perf-<pid>.map. */
function perfMapAdvice(p: ProcessSymbols): string {
  switch (p.runtime) {
    case 'node':
      return 'start node with --perf-basic-prof (or --perf-basic-prof-only-functions for a smaller map; NODE_OPTIONS=--perf-basic-prof works too)';
    case 'java':
      // The agent reads the map when the capture ends, from a JVM still running: a map written at exit comes too late.
      return (
        `have the running JVM write one just before the capture with \`jcmd ${p.pid} Compiler.perfmap\` (JDK 17+) or ` +
        `perf-map-agent (\`create-java-perf-map.sh ${p.pid}\`): either writes a snapshot of the code compiled so far, so run ` +
        'it again after new code is compiled; -XX:+DumpPerfMapAtExit writes it only when the JVM exits, too late for a ' +
        'running one. Start java with -XX:+PreserveFramePointer too, or stacks cannot be walked through JIT-compiled code'
      );
    case 'dotnet':
      return 'start it with DOTNET_PerfMapEnabled=1 in its environment';
    case 'python':
      return pythonBefore312(p.runtimeVersion)
        ? `Python ${p.runtimeVersion} cannot write one: perf support (-X perf, PYTHONPERFSUPPORT=1) needs Python 3.12+`
        : 'start python (3.12+) with -X perf, or set PYTHONPERFSUPPORT=1';
    default:
      return 'have the runtime write /tmp/perf-<pid>.map';
  }
}

/** What makes this binary's stacks walkable to their root. */
function frameAdvice(p: ProcessSymbols): string {
  const rebuild = 'a build with frame pointers (a distribution that builds with them, such as Fedora 38+ or Ubuntu 24.04+, or -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer)';
  switch (p.runtime) {
    case 'python':
      if (pythonBefore312(p.runtimeVersion)) {
        return `Python ${p.runtimeVersion} has no perf support; Python 3.12+ with -X perf keeps Python frames walkable, or use ${rebuild}`;
      }
      // Its map was read, so -X perf is on already: the trampolines naming Python functions are there, but a walk
      // through C code without frame pointers (_PyEval_EvalFrameDefault uses rbp as a general register) never gets to them.
      if (p.perfMap === 'read') {
        return (
          'its perf support is on (its perf map was read), but the interpreter\'s C code was built without frame pointers, so ' +
          "the walk stops there, before it reaches the Python functions' trampolines: use a Python built with " +
          "-fno-omit-frame-pointer -mno-omit-leaf-frame-pointer in its CFLAGS (e.g. CFLAGS='-fno-omit-frame-pointer " +
          "-mno-omit-leaf-frame-pointer' pyenv install), or a distribution's build with frame pointers, such as Fedora 38+ or Ubuntu 24.04+"
        );
      }
      return `use ${rebuild}, and run it with -X perf (or PYTHONPERFSUPPORT=1) so that its Python functions have names`;
    case 'java':
      return `start java with -XX:+PreserveFramePointer; native libraries need ${rebuild}`;
    default:
      return rebuild;
  }
}

/**
 * What stands between the profile and the code people wrote: JIT runtimes without a perf map (named by the flag
 * that fixes it), stacks cut short by missing frame pointers (named by what fixes it for that binary), and frames
 * without symbols. Every claim comes from what the agent found on the node (the result's `symbolization`).
 */
export function symbolFindings(steps: readonly Step[], stepId: string, perNode: readonly NodeProfile[], samples: number): Finding[] {
  const procs = perNode.flatMap((p) => p.result.symbolization ?? []);
  const out: Finding[] = [];

  const mapless = procs.filter((p) => p.runtime !== null && p.perfMap === 'missing');
  if (mapless.length > 0) {
    const first = mapless[0];
    out.push({
      severity: 'info',
      title:
        mapless.length === 1 && first
          ? `${who(first)} runs ${first.runtime} without a perf map: its JIT-compiled code has no names`
          : `${mapless.length} processes run JIT runtimes without a perf map: their JIT-compiled code has no names`,
      detail: mapless.map((p) => `${who(p)}: ${perfMapAdvice(p)}.`).join('\n'),
      confidence: {
        level: 'high',
        reason: 'the runtime was recognized from the process binary and libraries, and it had no /tmp/perf-<pid>.map when the capture ended',
      },
      evidence: rowEvidence(steps, stepId, ['symbolization'], (r) => (r as ProcessSymbols).perfMap === 'missing' && (r as ProcessSymbols).runtime !== null),
    });
  }

  const truncated = perNode.reduce((n, p) => n + (p.result.truncatedSamples ?? 0), 0);
  if (samples > 0 && truncated / samples >= NOTABLE_SHARE) {
    const cut = procs.filter((p) => p.truncatedSamples > 0).sort((a, b) => b.truncatedSamples - a.truncatedSamples);
    out.push({
      severity: 'info',
      title: `${formatShare(truncated / samples)} of samples have truncated stacks: code without frame pointers`,
      detail:
        `${plural(truncated, 'sample')} have user stacks that stop before the thread's start (_start, start_thread): the ` +
        'stack walker follows frame pointers, and code built without them breaks the chain, so callers are missing and time is ' +
        'charged to the wrong place.\n' +
        cut.map((p) => `${who(p)}: ${formatCount(p.truncatedSamples)} of ${formatCount(p.samples)} samples; fix: ${frameAdvice(p)}.`).join('\n'),
      confidence: { level: 'high', reason: `counted: ${plural(truncated, 'sample')} of ${formatCount(samples)} ended in a frame where no thread starts` },
      evidence: [
        ...fieldEvidence(steps, stepId, [['truncatedSamples'], ['samples']]),
        ...rowEvidence(steps, stepId, ['symbolization'], (r) => (r as ProcessSymbols).truncatedSamples > 0),
      ],
    });
  }

  const unknown = perNode.reduce((n, p) => n + p.result.unknownSamples, 0);
  if (samples > 0 && unknown / samples >= NOTABLE_SHARE) {
    // Perf maps are mentioned only when nothing was read and no finding above already named the flag.
    const anyRead = procs.some((p) => p.perfMap === 'read');
    const recorded = perNode.some((p) => p.result.symbolization === undefined);
    const causes = [
      'stripped binaries (install their debug symbols)',
      ...(mapless.length > 0 ? ['JIT-compiled code without a perf map (see above)'] : !anyRead && recorded ? ['JIT-compiled code without a perf map'] : []),
      'processes that exited before the capture ended',
    ];
    out.push({
      severity: 'info',
      title: `${formatShare(unknown / samples)} of samples have frames without symbols`,
      detail: `${plural(unknown, 'sample')} include [unknown] frames: ${causes.slice(0, -1).join(', ')} or ${causes[causes.length - 1]}.`,
      confidence: { level: 'high', reason: `counted: ${plural(unknown, 'sample')} of ${formatCount(samples)} had a frame the symbolizer could not name` },
      evidence: [...fieldEvidence(steps, stepId, [['unknownSamples'], ['samples']]), ...wholeArtifacts(steps, stepId, 'stacks.folded')],
    });
  }
  return out;
}
