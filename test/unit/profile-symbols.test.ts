import { describe, expect, it } from 'vitest';
import type { ProcessSymbols, ProfileResult } from '../../bpf/bpftrace/profile/result.ts';
import type { Step } from '../../src/core/investigation.ts';
import { summarizeCpuProfile } from '../../src/findings/cpu-profile.ts';

const step = (result: ProfileResult): Step => ({
  id: 'cpu', tool: 'profile', node: 'node-17', status: 'succeeded', artifacts: ['cpu/node-17/raw.json', 'cpu/node-17/result.json'], result,
});

const proc = (over: Partial<ProcessSymbols>): ProcessSymbols => ({
  exe: '/usr/bin/app', runtime: null, runtimeVersion: null, perfMap: 'none', perfMapEntries: 0, perfMapFrames: 0,
  pid: 41, comm: 'app', samples: 100, unknownSamples: 0, truncatedSamples: 0, ...over,
});

function summarize(symbolization: ProcessSymbols[], over: Partial<ProfileResult> = {}) {
  const samples = symbolization.reduce((n, p) => n + p.samples, 0);
  const result: ProfileResult = {
    samples, hz: 99, artifacts: ['stacks.folded'], topFunctions: [{ name: 'f', self: 0.5, total: 0.5 }], processes: [],
    unknownSamples: symbolization.reduce((n, p) => n + p.unknownSamples, 0),
    truncatedSamples: symbolization.reduce((n, p) => n + p.truncatedSamples, 0),
    symbolization,
    ...over,
  };
  const s = summarizeCpuProfile({ stepId: 'cpu', durationText: '10s', steps: [step(result)] });
  return { findings: s.findings, text: s.findings.map((f) => `${f.title}\n${f.detail}`).join('\n') };
}

describe('cpu-profile findings on symbols, perf maps and truncated stacks', () => {
  it('names the exact flag for each JIT runtime running without a perf map', () => {
    const { findings } = summarize([
      proc({ exe: '/usr/local/bin/node', runtime: 'node', perfMap: 'missing', pid: 10, unknownSamples: 80 }),
      proc({ exe: '/usr/lib/jvm/bin/java', runtime: 'java', perfMap: 'missing', pid: 11 }),
      proc({ exe: '/usr/share/dotnet/dotnet', runtime: 'dotnet', perfMap: 'missing', pid: 12 }),
      proc({ exe: '/usr/bin/python3.12', runtime: 'python', runtimeVersion: '3.12', perfMap: 'missing', pid: 13 }),
    ]);
    const advice = findings.find((f) => /without a perf map/.test(f.title));
    expect(advice?.title).toBe('4 processes run JIT runtimes without a perf map: their JIT-compiled code has no names');
    const lines = advice?.detail.split('\n') ?? [];
    expect(lines[0]).toMatch(/^node \(pid 10\): start node with --perf-basic-prof \(or --perf-basic-prof-only-functions/);
    expect(lines[1]).toBe(
      'java (pid 11): have the running JVM write one just before the capture with `jcmd 11 Compiler.perfmap` (JDK 17+) or ' +
        'perf-map-agent (`create-java-perf-map.sh 11`): either writes a snapshot of the code compiled so far, so run it again ' +
        'after new code is compiled; -XX:+DumpPerfMapAtExit writes it only when the JVM exits, too late for a running one. ' +
        'Start java with -XX:+PreserveFramePointer too, or stacks cannot be walked through JIT-compiled code.',
    );
    expect(lines[2]).toBe('dotnet (pid 12): start it with DOTNET_PerfMapEnabled=1 in its environment.');
    expect(lines[3]).toBe('python3.12 (pid 13): start python (3.12+) with -X perf, or set PYTHONPERFSUPPORT=1.');
    // The unknown-frames finding points at the advice instead of repeating it.
    expect(findings.find((f) => /without symbols/.test(f.title))?.detail).toContain('JIT-compiled code without a perf map (see above)');
  });

  it('says nothing about perf maps once they were read', () => {
    const { text } = summarize([
      proc({ exe: '/usr/local/bin/node', runtime: 'node', perfMap: 'read', perfMapEntries: 5000, perfMapFrames: 40, unknownSamples: 30 }),
    ]);
    expect(text).toContain('30% of samples have frames without symbols');
    expect(text).not.toMatch(/perf map|perf-basic-prof/i);
  });

  it('says Python before 3.12 cannot write a perf map, and that its stacks are truncated', () => {
    const { findings } = summarize([
      proc({ exe: '/usr/bin/python3.11', runtime: 'python', runtimeVersion: '3.11', perfMap: 'missing', pid: 7, samples: 200, truncatedSamples: 150, unknownSamples: 150 }),
    ]);
    expect(findings.find((f) => /without a perf map/.test(f.title))?.detail).toBe(
      'python3.11 (pid 7): Python 3.11 cannot write one: perf support (-X perf, PYTHONPERFSUPPORT=1) needs Python 3.12+.',
    );
    const truncated = findings.find((f) => /truncated/.test(f.title));
    expect(truncated?.title).toBe('75% of samples have truncated stacks: code without frame pointers');
    expect(truncated?.detail).toContain('python3.11 (pid 7): 150 of 200 samples; fix: Python 3.11 has no perf support; Python 3.12+ with -X perf');
    expect(truncated?.evidence.some((e) => e.rows?.some((r) => r.startsWith('/symbolization/')))).toBe(true);
  });

  it('tells Python 3.12 with -X perf on that its interpreter needs frame pointers, and not to turn -X perf on again', () => {
    // As measured with pyenv's 3.12.1 (-O3, no frame pointers): the map read, every stack cut in libpython.
    const { findings, text } = summarize([
      proc({ exe: '/root/.pyenv/versions/3.12.1/bin/python3.12', runtime: 'python', runtimeVersion: '3.12', perfMap: 'read', perfMapEntries: 181, pid: 9, samples: 119, truncatedSamples: 119, unknownSamples: 58 }),
    ]);
    expect(findings.find((f) => /without a perf map/.test(f.title))).toBeUndefined();
    const truncated = findings.find((f) => /truncated/.test(f.title));
    expect(truncated?.title).toBe('100% of samples have truncated stacks: code without frame pointers');
    expect(truncated?.detail).toContain(
      "python3.12 (pid 9): 119 of 119 samples; fix: its perf support is on (its perf map was read), but the interpreter's C code was built without frame pointers",
    );
    expect(truncated?.detail).toContain('-fno-omit-frame-pointer -mno-omit-leaf-frame-pointer');
    expect(text).not.toMatch(/-X perf|PYTHONPERFSUPPORT/);
  });

  it('tells Python 3.12 without a map to turn on -X perf, and to keep frame pointers for whole stacks', () => {
    const { findings } = summarize([
      proc({ exe: '/usr/bin/python3.12', runtime: 'python', runtimeVersion: '3.12', perfMap: 'missing', pid: 8, samples: 100, truncatedSamples: 100 }),
    ]);
    expect(findings.find((f) => /without a perf map/.test(f.title))?.detail).toBe('python3.12 (pid 8): start python (3.12+) with -X perf, or set PYTHONPERFSUPPORT=1.');
    expect(findings.find((f) => /truncated/.test(f.title))?.detail).toMatch(
      /python3\.12 \(pid 8\): 100 of 100 samples; fix: use a build with frame pointers .*, and run it with -X perf \(or PYTHONPERFSUPPORT=1\)/,
    );
  });

  it('tells a JVM whose stacks are cut to keep its frame pointer', () => {
    const { findings } = summarize([proc({ exe: '/usr/lib/jvm/java-17-openjdk-amd64/bin/java', runtime: 'java', perfMap: 'read', pid: 5, samples: 183, truncatedSamples: 101 })]);
    expect(findings.find((f) => /truncated/.test(f.title))?.detail).toContain('java (pid 5): 101 of 183 samples; fix: start java with -XX:+PreserveFramePointer');
  });

  it('tells a C binary to keep frame pointers', () => {
    const { findings } = summarize([proc({ exe: '/usr/sbin/nginx', pid: 3, samples: 100, truncatedSamples: 40 })]);
    expect(findings.find((f) => /truncated/.test(f.title))?.detail).toMatch(/nginx \(pid 3\): 40 of 100 samples; fix: a build with frame pointers .*-fno-omit-frame-pointer/);
  });

  it('stays quiet about a few truncated stacks, and about processes with their maps', () => {
    const { findings } = summarize([proc({ truncatedSamples: 5 }), proc({ pid: 42, runtime: 'node', perfMap: 'read' })]);
    expect(findings).toHaveLength(1);
  });

  it('keeps the old wording for results recorded before symbolization', () => {
    const { findings } = summarize([], { samples: 100, unknownSamples: 50, truncatedSamples: undefined, symbolization: undefined });
    expect(findings[1]?.detail).toBe(
      '50 samples include [unknown] frames: stripped binaries (install their debug symbols), JIT-compiled code without a perf map or processes that exited before the capture ended.',
    );
  });
});
