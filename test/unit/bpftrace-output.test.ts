import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cgroupArgs, MAX_CGROUPS } from '../../bpf/bpftrace-output.ts';
import { tools } from '../../bpf/index.ts';
import type { BpftraceTool } from '../../bpf/tool.ts';

describe('cgroupArgs', () => {
  it('puts the first id in the existing slot and the others, or 0, in the MAX_CGROUPS - 1 extra slots', () => {
    expect(MAX_CGROUPS).toBe(8);
    expect(cgroupArgs({ cgroupIds: [] })).toEqual({ first: '0', extra: ['0', '0', '0', '0', '0', '0', '0'] });
    expect(cgroupArgs({ cgroupIds: [63] })).toEqual({ first: '63', extra: ['0', '0', '0', '0', '0', '0', '0'] });
    expect(cgroupArgs({ cgroupIds: [63, 64] })).toEqual({ first: '63', extra: ['64', '0', '0', '0', '0', '0', '0'] });
    expect(cgroupArgs({ cgroupIds: [1, 2, 3, 4, 5, 6, 7, 8] })).toEqual({ first: '1', extra: ['2', '3', '4', '5', '6', '7', '8'] });
  });

  it('counts a cgroup named twice once', () => {
    expect(cgroupArgs({ cgroupIds: [63, 64, 63] })).toEqual({ first: '63', extra: ['64', '0', '0', '0', '0', '0', '0'] });
    expect(cgroupArgs({ cgroupIds: [1, 2, 3, 4, 5, 6, 7, 8, 8] }).extra).toEqual(['2', '3', '4', '5', '6', '7', '8']);
  });

  it('refuses more than MAX_CGROUPS ids, 0 and anything but a positive integer', () => {
    expect(() => cgroupArgs({ cgroupIds: [1, 2, 3, 4, 5, 6, 7, 8, 9] })).toThrow('at most 8 cgroup ids can be filtered on, got 9');
    // 0 in the first slot would mean "any cgroup": a set must never widen to the whole node.
    expect(() => cgroupArgs({ cgroupIds: [0] })).toThrow(/cgroup id 0/);
    expect(() => cgroupArgs({ cgroupIds: [63, 0] })).toThrow(/cgroup id 0/);
    expect(() => cgroupArgs({ cgroupIds: [-1] })).toThrow(/cgroup id must be a non-negative integer/);
    expect(() => cgroupArgs({ cgroupIds: [63, 1.5] })).toThrow(/cgroup id/);
    expect(() => cgroupArgs({ cgroupIds: [Number.NaN] })).toThrow(/cgroup id/);
  });
});

describe('bpftrace programs and their arguments', () => {
  const bpftraceTools = Object.values(tools).filter((t): t is BpftraceTool => t.kind === 'bpftrace');
  // Inode-like ids: small ones could equal other arguments (syscount also passes syscall numbers).
  const scope = { cgroupIds: [9011, 9012, 9013, 9014, 9015, 9016, 9017, 9018], pid: 0 };

  it.each(bpftraceTools.map((t) => [t.name, t] as const))('%s uses every positional it is given, and no other', (_name, tool) => {
    const source = readFileSync(tool.programFile, 'utf8');
    const used = new Set([...source.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
    const args = tool.args(tool.params.parse({}), scope);
    expect([...used].sort((a, b) => a - b)).toEqual(args.map((_, i) => i + 1));
  });

  it.each(bpftraceTools.map((t) => [t.name, t] as const))('%s compares the cgroup with every id of the set', (_name, tool) => {
    const source = readFileSync(tool.programFile, 'utf8');
    const args = tool.args(tool.params.parse({}), scope);
    // Every slot holding a set id is compared with a cgroup value (the builtin or one the program captured).
    const slots = args.flatMap((a, i) => (scope.cgroupIds.includes(Number(a)) ? [i + 1] : []));
    expect(slots).toHaveLength(MAX_CGROUPS);
    for (const n of slots) expect(source).toMatch(new RegExp(`(cgroup|\\$cg) == \\$${n}\\b`));
  });
});
