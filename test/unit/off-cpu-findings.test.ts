import { describe, expect, it } from 'vitest';
import { offcputime } from '../../bpf/bpftrace/offcputime/manifest.ts';
import { profile } from '../../bpf/bpftrace/profile/manifest.ts';
import type { Step } from '../../src/core/investigation.ts';
import { dominantSide, stackText, summarizeLatency } from '../../src/findings/off-cpu.ts';
import { recordingContext, toolFixture } from '../helpers/recordings.ts';

const offResult = (name: string) => offcputime.parse(toolFixture('offcputime', name), offcputime.params.parse({}), recordingContext({})).result;
const onResult = (name: string) => profile.parse(toolFixture('profile', name), profile.params.parse({}), recordingContext({})).result;

const step = (id: string, tool: string, result: unknown, files: string[]): Step => ({
  id, tool, node: 'node-1', status: 'succeeded', result, artifacts: ['result.json', ...files].map((f) => `${id}/node-1/${f}`),
});
const offStep = (name: string) => step('offcpu', 'offcputime', offResult(name), ['raw.json', 'offcpu.folded', 'offcpu-flamegraph.svg']);
const onStep = (name: string) => step('cpu', 'profile', onResult(name), ['raw.json', 'stacks.folded', 'flamegraph.svg']);
const summarize = (steps: Step[]) => summarizeLatency({ steps, offStepId: 'offcpu', onStepId: 'cpu', durationText: '3s' });

describe('which side dominates', () => {
  it('needs twice the other side’s time', () => {
    expect(dominantSide(100, 200)).toBe('off-cpu');
    expect(dominantSide(100, 199)).toBe('neither');
    expect(dominantSide(200, 100)).toBe('on-cpu');
    expect(dominantSide(0, 0)).toBe('neither');
    expect(dominantSide(0, 1)).toBe('off-cpu');
  });

  it('names a stack by its system call, the kernel wait and the callers', () => {
    expect(stackText({ syscall: 'read', blockedIn: 'anon_pipe_read', userFrames: ['raw3', 'wait_for_upstream'] })).toBe('read(2) in anon_pipe_read ← raw3 ← wait_for_upstream');
    expect(stackText({ syscall: null, blockedIn: 'worker_thread', userFrames: [] })).toBe('worker_thread');
    expect(stackText({ syscall: null, blockedIn: null, userFrames: [] })).toBe('an unnamed kernel wait');
  });
});

describe('the latency summary', () => {
  it('says off-CPU dominates for a sleeper, with the figures and its blocking stack', () => {
    // A sleeper that barely runs: a few on-CPU samples against ~2 s of naps.
    const cpu = step('cpu', 'profile', { ...onResult('no-samples.json'), samples: 3, hz: 99 }, ['stacks.folded']);
    const { headline, findings } = summarize([offStep('nap-pid.json'), cpu]);
    expect(headline).toBe(
      'Off-CPU dominates: blocked 1.93 s vs 30.3 ms on CPU in 2.1 s, most in nanosleep(2) in do_nanosleep ← doze_between_requests ← main ← __libc_start_call_main (th-sleeper (pid 16541), 1.93 s, longest 23.9 ms)',
    );
    const [verdict, stacks] = findings;
    expect(verdict).toMatchObject({ severity: 'warning', title: 'Off-CPU time dominates: blocked 1.93 s against 30.3 ms on CPU' });
    expect(verdict!.detail).toContain('On CPU 30.3 ms (3 samples at 99 Hz); blocked off CPU 1.93 s (96 blocks, summed over threads); 98% of the measured time off CPU, over a 2.1 s window.');
    expect(verdict!.confidence.level).toBe('medium');
    expect(verdict!.evidence.map((e) => e.artifact)).toEqual(['offcpu/node-1/result.json', 'cpu/node-1/result.json']);
    expect(verdict!.evidence[0]!.rows).toEqual(['/blockedUs', '/blocks', '/windowMs', '/totalUs']);
    expect(stacks).toMatchObject({ severity: 'info', title: 'Top 1 blocking stack by time off CPU' });
    expect(stacks!.detail).toBe('1. th-sleeper (pid 16541): nanosleep(2) in do_nanosleep ← doze_between_requests ← main ← __libc_start_call_main — 1.93 s in all, longest 23.9 ms, 96 waits');
    expect(stacks!.evidence.map((e) => e.artifact)).toEqual(['offcpu/node-1/result.json', 'offcpu/node-1/offcpu-flamegraph.svg', 'offcpu/node-1/offcpu.folded']);
    expect(stacks!.evidence[0]!.rows).toEqual(['/topStacks/0']);
  });

  it('says on-CPU dominates for a burner, naming its hottest function', () => {
    const { headline, findings } = summarize([offStep('no-events.json'), onStep('burner-pid.json')]);
    expect(headline).toBe('On-CPU dominates: 2.91 s on CPU vs 0 µs blocked in 1.39 s, hottest function crunch_alpha (67% of samples)');
    expect(findings[0]).toMatchObject({ severity: 'info', title: 'On-CPU time dominates: 2.91 s on CPU against 0 µs blocked' });
    expect(findings[0]!.confidence.level).toBe('high');
    // Nothing blocked: no stacks to rank.
    expect(findings).toHaveLength(1);
  });

  it('makes a finding of a thread that blocked and never woke, with what to run next', () => {
    const { findings } = summarize([offStep('hang-pid.json'), onStep('no-samples.json')]);
    const hang = findings.find((f) => f.title.includes('still blocked'));
    expect(hang).toMatchObject({
      severity: 'warning',
      title: 'th-sleeper (pid 16593) was still blocked when the capture ended, after 2.03 s: read(2) in anon_pipe_read ← raw3 ← wait_forever ← main',
    });
    expect(hang!.next!.commands).toEqual(['cat /proc/16593/task/16593/stack', 'cat /proc/16593/task/16593/wchan; echo', 'ls -l /proc/16593/fd']);
    expect(hang!.evidence).toEqual([expect.objectContaining({ artifact: 'offcpu/node-1/result.json', rows: ['/openBlocks/0'] })]);
  });

  it('says so when one side was not measured, and when neither was', () => {
    const failed: Step = { id: 'cpu', tool: 'profile', node: 'node-1', status: 'failed', reason: 'perf events unavailable', artifacts: [] };
    const { headline, findings } = summarize([offStep('nap-pid.json'), failed]);
    expect(headline).toBe('Only off-CPU time measured (no on-CPU profile): blocked 1.93 s in 2.1 s, most in nanosleep(2) in do_nanosleep ← doze_between_requests ← main ← __libc_start_call_main (th-sleeper (pid 16541))');
    expect(findings[0]).toMatchObject({ title: 'Only off-CPU time measured: 1.93 s', confidence: { level: 'low' } });
    expect(summarize([failed]).headline).toBe('No latency capture completed: neither on-CPU nor off-CPU time was measured');
  });
});
