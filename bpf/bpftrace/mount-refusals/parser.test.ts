import { describe, expect, it } from 'vitest';
import { recordingContext, toolFixture } from '../../../test/helpers/recordings.ts';
import { mountRefusals } from './manifest.ts';
import { MAX_PIDS, parseMountRefusals } from './parser.ts';
import { MountRefusalsResult } from './result.ts';

const parse = (fixture: string) => mountRefusals.parse(toolFixture('mount-refusals', fixture), {}, recordingContext({})).result as MountRefusalsResult;

describe('mount-refusals parser', () => {
  it('reads the kprobe variant on 6.1: count_mounts refused the leaker\'s namespace 7 times after allowing 10', () => {
    const r = parse('kprobe-6.1.json');
    expect(MountRefusalsResult.parse(r)).toEqual(r);
    expect(r).toMatchObject({ totalRefused: 7, totalAllowed: 10 });
    // Only the test cgroup (id 23): the outsider's namespace, refused the same way, is filtered out in the kernel.
    expect(r.namespaces).toHaveLength(1);
    const [ns] = r.namespaces;
    expect(ns).toMatchObject({ mntns: 4026532156, refused: 7, allowed: 10 });
    // Each mount(8) is its own process: one row for the name, every pid listed.
    expect(ns!.processes).toEqual([expect.objectContaining({ comm: 'mount', cgroupId: 23, refused: 7, allowed: 10 })]);
    expect(ns!.processes[0]!.pids).toHaveLength(MAX_PIDS);
    expect(ns!.processes[0]!.pids).toEqual([...ns!.processes[0]!.pids].sort((a, b) => a - b));
  });

  it('reads the tracepoint variant on 6.12 the same way', () => {
    const r = parse('tracepoint-6.12.json');
    expect(r).toMatchObject({ totalRefused: 12, totalAllowed: 2, namespaces: [{ mntns: 4026532159, refused: 12, allowed: 2 }] });
    expect(r.namespaces[0]!.processes).toEqual([expect.objectContaining({ comm: 'mount', cgroupId: 28, refused: 12, allowed: 2 })]);
    expect(r.namespaces[0]!.processes[0]!.pids).toHaveLength(14);
  });

  it('orders namespaces by refusals and keeps commas in comm', () => {
    const out = [
      '{"type": "map", "data": {"@refused": {"11,5,9,a,b": 2, "22,6,9,mount": 5}}}',
      '{"type": "map", "data": {"@allowed": {"11,7,9,a,b": 1}}}',
    ].join('\n');
    const r = parseMountRefusals(out);
    expect(r.namespaces.map((n) => [n.mntns, n.refused, n.allowed])).toEqual([[22, 5, 0], [11, 2, 1]]);
    expect(r.namespaces[1]!.processes).toEqual([{ comm: 'a,b', cgroupId: 9, refused: 2, allowed: 1, pids: [5, 7] }]);
  });

  it('is empty when nothing mounted, and refuses a key it does not know', () => {
    // What both programs print when nothing mounted: the completion marker alone.
    expect(parseMountRefusals('{"type": "attached_probes", "data": {"probes": 2}}\n{"type": "map", "data": {"@complete": 1}}\n')).toEqual({ namespaces: [], totalRefused: 0, totalAllowed: 0 });
    expect(() => parseMountRefusals('{"type": "map", "data": {"@refused": {"x,1": 1}}}')).toThrow(/expected "mntns,pid,cgroup,comm"/);
  });

  it('has a kprobe variant on count_mounts before its tracepoint fallback', () => {
    expect(mountRefusals.variants.map((v) => [v.name, v.programFile.split('/').pop()])).toEqual([
      ['kprobe', 'program.kprobe.bt'],
      ['tracepoint', 'program.bt'],
    ]);
    expect(mountRefusals.variants[0]!.requires).toEqual([{ kind: 'kprobe', function: 'count_mounts' }]);
  });
});
