import { describe, expect, it } from 'vitest';
import { detectCapabilities, unmetRequirement, type Capabilities } from '../../workers/node-agent/capabilities.ts';
import { chooseVariant } from '../../src/core/capabilities.ts';
import { BPF, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';

const caps: Capabilities = {
  kernel: '6.18.44',
  arch: 'x64',
  btf: true,
  tracefs: '/sys/kernel/tracing',
  tracers: ['blk', 'function', 'nop'],
  perfEvents: true,
  kprobes: false, fentry: false, uprobes: false,
  bpftrace: { available: true, version: 'bpftrace v0.17.0', reason: null },
  cgroupV2: '/sys/fs/cgroup/unified',
};

describe('capability requirements', () => {
  it('explains a missing tracer with the kernel and what it has', () => {
    expect(unmetRequirement({ kind: 'tracer', name: 'function_graph' }, caps)).toBe(
      'tracer function_graph not available on kernel 6.18.44 (available_tracers: blk function nop)',
    );
    expect(unmetRequirement({ kind: 'tracer', name: 'function' }, caps)).toBeNull();
  });

  it('explains missing bpftrace, BTF, perf events and tracefs', () => {
    expect(unmetRequirement({ kind: 'bpftrace' }, { ...caps, bpftrace: { available: false, version: null, reason: 'bpftrace not found' } })).toBe(
      'bpftrace unavailable: bpftrace not found',
    );
    expect(unmetRequirement({ kind: 'btf' }, { ...caps, btf: false })).toMatch(/no BTF/);
    expect(unmetRequirement({ kind: 'perf-events' }, { ...caps, perfEvents: false })).toMatch(/perf events/);
    expect(unmetRequirement({ kind: 'tracepoint', name: 'raw_syscalls/sys_exit' }, { ...caps, tracefs: null })).toMatch(/tracefs/);
  });

  it('explains missing kprobes, fentry and uprobes, and checks a named function on the node', () => {
    expect(unmetRequirement({ kind: 'kprobe' }, caps)).toBe('kernel 6.18.44 has no kprobes (no kprobe_events in tracefs)');
    expect(unmetRequirement({ kind: 'kprobe', function: 'count_mounts' }, caps)).toBe('kernel 6.18.44 has no kprobes (no kprobe_events in tracefs)');
    expect(unmetRequirement({ kind: 'fentry' }, caps)).toMatch(/^kernel 6\.18\.44 has no fentry/);
    expect(unmetRequirement({ kind: 'uprobe' }, caps)).toMatch(/no uprobes/);
    expect(unmetRequirement({ kind: 'uprobe' }, { ...caps, uprobes: true })).toBeNull();
    expect(unmetRequirement({ kind: 'kprobe' }, { ...caps, kprobes: true })).toBeNull();
  });

  it('chooses the best variant the node has, and says why for each when none', () => {
    const variants = [
      { name: 'fentry' as const, requires: [{ kind: 'fentry' as const }] },
      { name: 'kprobe' as const, requires: [{ kind: 'kprobe' as const }] },
      { name: 'tracepoint' as const, requires: [{ kind: 'kernel' as const, min: '5.8' }] },
    ];
    const unmet = (c: Capabilities) => (r: Parameters<typeof unmetRequirement>[0]) => unmetRequirement(r, c);
    expect(chooseVariant(variants, unmet(caps)).variant?.name).toBe('tracepoint');
    expect(chooseVariant(variants, unmet({ ...caps, kprobes: true })).variant?.name).toBe('kprobe');
    expect(chooseVariant(variants, unmet({ ...caps, kprobes: true, fentry: true })).variant?.name).toBe('fentry');
    const none = chooseVariant(variants, unmet({ ...caps, kernel: '4.19.0' }));
    expect(none).toEqual({
      variant: null,
      reasons: [
        'fentry variant: kernel 4.19.0 has no fentry (BPF trampolines with BTF; bpftrace kfunc)',
        'kprobe variant: kernel 4.19.0 has no kprobes (no kprobe_events in tracefs)',
        'tracepoint variant: kernel 4.19.0 is older than 5.8',
      ],
    });
  });

  it('detects this node for real', async () => {
    const found = await detectCapabilities({ tracefs: '/sys/kernel/tracing', bpftrace: 'bpftrace', cgroupRoot: '/sys/fs/cgroup/unified' });
    expect(found.kernel).toMatch(/^\d+\.\d+/);
    expect(found.arch).toBe(process.arch);
    expect(found.bpftrace.available).toBe(BPF.ok);
  });

  // Where BPF runs the agent is root, so tracefs is there or the agent mounts it: its tracers and events are known.
  it.skipIf(skipBpf)(bpfSuiteName('finds tracefs, its tracers and its tracepoints where BPF runs'), async () => {
    const found = await detectCapabilities({ tracefs: '/sys/kernel/tracing', bpftrace: 'bpftrace', cgroupRoot: '/sys/fs/cgroup/unified' });
    expect(found.tracefs).toMatch(/\/tracing$/);
    expect(found.tracers).toContain('nop');
    expect(unmetRequirement({ kind: 'tracepoint', name: 'raw_syscalls/sys_exit' }, found)).toBeNull();
    expect(unmetRequirement({ kind: 'tracepoint', name: 'no_such/event' }, found)).toMatch(/not found/);
  });
});
