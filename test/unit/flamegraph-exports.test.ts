import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { describe, it, expect } from 'vitest';
import { foldSamples } from '../../bpf/bpftrace/profile/parser.ts';
import { parseFolded, serializeFolded, totalSamples } from '../../src/flamegraph/folded.ts';
import { fromPprof, toPprof } from '../../src/flamegraph/pprof.ts';
import { SPEEDSCOPE_SCHEMA, toSpeedscope, type SpeedscopeFile } from '../../src/flamegraph/speedscope.ts';

const fixtureFolded = (): string =>
  serializeFolded(foldSamples(readFileSync(new URL('../../bpf/bpftrace/profile/fixtures/burner-pid.json', import.meta.url), 'utf8')));

const SMALL = [
  'app;main;parse;lex 3',
  'app;main;parse 2',
  'app;main;render;draw;write_[k] 4',
  'app;main;lex 1', // "lex" again, under another parent: one shared frame
  'worker;main;lex 5', // another process, same function names
].join('\n');

const ODD = [
  'my "app";main;operator<<(std::ostream&, char const*) 2',
  "ünïcødé;main;café_☕;emoji_🔥 3",
  'my "app";std::vector<int, std::allocator<int> >::push_back(int const&);[unknown] 1',
  'my "app";back\\slash;tab\there;</script> 4',
].join('\n');

function speedscope(folded: string, opts: Parameters<typeof toSpeedscope>[1]): SpeedscopeFile {
  return JSON.parse(toSpeedscope(folded, opts)) as SpeedscopeFile;
}

/** The stacks a speedscope file describes, rebuilt as folded text (weights as given). */
function speedscopeToFolded(file: SpeedscopeFile): string {
  const profile = file.profiles[0];
  if (!profile) throw new Error('no profile');
  return serializeFolded(
    profile.samples.map((stack, i) => ({
      frames: stack.map((index) => file.shared.frames[index]?.name ?? '?'),
      count: profile.weights[i] ?? 0,
    })),
  );
}

function decodePprof(buf: Buffer): Profile {
  return Profile.decode(gunzipSync(buf));
}

const stringsOf = (p: Profile) => (index: number | bigint): string => p.stringTable.strings[Number(index)] ?? '';

describe('toSpeedscope', () => {
  it('writes a sampled profile with deduplicated frames, root-first samples and count weights', () => {
    const file = speedscope(SMALL, { name: 'capture 1' });
    expect(file.$schema).toBe('https://www.speedscope.app/file-format-schema.json');
    expect(file.$schema).toBe(SPEEDSCOPE_SCHEMA);
    expect(file.exporter).toBe('tracehound');
    expect(file.name).toBe('capture 1');
    expect(file.activeProfileIndex).toBe(0);
    expect(file.profiles).toHaveLength(1);

    const names = file.shared.frames.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    expect([...names].sort()).toEqual(['app', 'draw', 'lex', 'main', 'parse', 'render', 'worker', 'write_[k]']);

    const [profile] = file.profiles;
    expect(profile).toMatchObject({ type: 'sampled', name: 'capture 1', unit: 'none', startValue: 0, endValue: 15 });
    expect(profile?.samples).toHaveLength(5);
    expect(profile?.weights).toHaveLength(5);
    expect(profile?.weights.reduce((a, b) => a + b, 0)).toBe(15);
    for (const stack of profile?.samples ?? []) {
      expect(['app', 'worker']).toContain(file.shared.frames[stack[0] ?? -1]?.name);
    }
    // Root first, same stacks and counts as the input.
    expect(speedscopeToFolded(file)).toBe(serializeFolded(parseFolded(SMALL)));
  });

  it('expresses weights in nanoseconds with hz', () => {
    const profile = speedscope(SMALL, { name: 'x', hz: 100 }).profiles[0];
    expect(profile?.unit).toBe('nanoseconds');
    // 100 Hz: 10 ms a sample. Input order is not kept: stacks come sorted.
    const counts = parseFolded(SMALL).map((s) => s.count);
    expect(profile?.weights).toEqual(counts.map((c) => c * 10_000_000));
    expect(profile?.endValue).toBe(15 * 10_000_000);

    const at99 = speedscope(SMALL, { name: 'x', hz: 99 }).profiles[0];
    expect(at99?.weights.every(Number.isInteger)).toBe(true);
    expect(at99?.weights[0]).toBe(Math.round((counts[0] ?? 0) * 1e9 / 99));
    expect(at99?.endValue).toBe(at99?.weights.reduce((a, b) => a + b, 0));
  });

  it('lets the caller keep counts with hz, and rejects nanoseconds without it', () => {
    expect(speedscope(SMALL, { name: 'x', hz: 99, unit: 'none' }).profiles[0]).toMatchObject({ unit: 'none', endValue: 15 });
    expect(() => toSpeedscope(SMALL, { name: 'x', unit: 'nanoseconds' })).toThrow(/hz/);
    expect(() => toSpeedscope(SMALL, { name: 'x', hz: 0 })).toThrow(RangeError);
  });

  it('is deterministic, whatever the line order of the input', () => {
    const shuffled = SMALL.split('\n').reverse().join('\n');
    expect(toSpeedscope(shuffled, { name: 'x', hz: 99 })).toBe(toSpeedscope(SMALL, { name: 'x', hz: 99 }));
  });

  it('converts the recorded burner capture', () => {
    const folded = fixtureFolded();
    const total = totalSamples(parseFolded(folded));
    expect(total).toBe(288);
    const file = speedscope(folded, { name: 'burn', hz: 99 });
    const names = file.shared.frames.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('do_syscall_64_[k]');
    const profile = file.profiles[0];
    expect(profile?.samples).toHaveLength(16);
    expect(profile?.samples.every((s) => file.shared.frames[s[0] ?? -1]?.name === 'burn')).toBe(true);
    expect(profile?.endValue).toBe(profile?.weights.reduce((a, b) => a + b, 0));
    expect(Math.abs((profile?.endValue ?? 0) - (total * 1e9) / 99)).toBeLessThan(16);

    const counts = speedscope(folded, { name: 'burn' });
    expect(counts.profiles[0]?.endValue).toBe(288);
    expect(speedscopeToFolded(counts)).toBe(folded);
  });

  it('writes a valid empty profile for empty input', () => {
    const file = speedscope('', { name: 'empty', hz: 99 });
    expect(file.shared.frames).toEqual([]);
    expect(file.profiles).toEqual([
      { type: 'sampled', name: 'empty', unit: 'nanoseconds', startValue: 0, endValue: 0, samples: [], weights: [] },
    ]);
  });

  it('keeps odd frame names intact', () => {
    const file = speedscope(ODD, { name: '"quoted" <name> ☕' });
    expect(file.name).toBe('"quoted" <name> ☕');
    expect(speedscopeToFolded(file)).toBe(serializeFolded(parseFolded(ODD)));
    expect(file.shared.frames.map((f) => f.name)).toEqual(
      expect.arrayContaining(['my "app"', 'operator<<(std::ostream&, char const*)', 'emoji_🔥', 'tab\there', '</script>', 'back\\slash']),
    );
  });
});

describe('toPprof / fromPprof', () => {
  it('writes gzip', () => {
    const buf = toPprof(SMALL, {});
    expect(buf[0]).toBe(0x1f);
    expect(buf[1]).toBe(0x8b);
  });

  it('builds sample types, period, one function and location per frame, leaf-first locations and comm labels', () => {
    const p = decodePprof(toPprof(SMALL, { hz: 99 }));
    const str = stringsOf(p);
    expect(p.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`)).toEqual(['samples/count', 'cpu/nanoseconds']);
    expect(p.periodType && `${str(p.periodType.type)}/${str(p.periodType.unit)}`).toBe('cpu/nanoseconds');
    expect(Number(p.period)).toBe(Math.round(1e9 / 99));

    // The process names are labels, not frames.
    const fnNames = p.function.map((f) => str(f.name));
    expect([...fnNames].sort()).toEqual(['draw', 'lex', 'main', 'parse', 'render', 'write_[k]']);
    expect(p.function.map((f) => Number(f.id))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(p.location.map((l) => Number(l.id))).toEqual([1, 2, 3, 4, 5, 6]);
    for (const loc of p.location) {
      expect(loc.line).toHaveLength(1);
      expect(Number(loc.line[0]?.functionId)).toBe(Number(loc.id));
    }
    const nameOfLocation = (id: number | bigint): string => str(p.function.find((f) => Number(f.id) === Number(id))?.name ?? 0);

    const rows = p.sample.map((s) => ({
      comm: s.label.filter((l) => str(l.key) === 'comm').map((l) => str(l.str)),
      leafFirst: s.locationId.map(nameOfLocation),
      values: s.value.map(Number),
    }));
    expect(rows).toContainEqual({ comm: ['app'], leafFirst: ['write_[k]', 'draw', 'render', 'main'], values: [4, Math.round(4e9 / 99)] });
    expect(rows).toContainEqual({ comm: ['app'], leafFirst: ['lex', 'parse', 'main'], values: [3, Math.round(3e9 / 99)] });
    expect(rows).toContainEqual({ comm: ['worker'], leafFirst: ['lex', 'main'], values: [5, Math.round(5e9 / 99)] });
    expect(rows.reduce((sum, r) => sum + (r.values[0] ?? 0), 0)).toBe(15);
  });

  it('round-trips small input, with and without hz', () => {
    const expected = serializeFolded(parseFolded(SMALL));
    expect(fromPprof(toPprof(SMALL, {}))).toBe(expected);
    expect(fromPprof(toPprof(SMALL, { hz: 99 }))).toBe(expected);
    const p = decodePprof(toPprof(SMALL, {}));
    expect(p.sampleType).toHaveLength(1);
    expect(p.periodType).toBeUndefined();
    expect(p.sample.every((s) => s.value.length === 1)).toBe(true);
  });

  it('keeps the process name as the root frame when comm is false', () => {
    const buf = toPprof(SMALL, { comm: false });
    const p = decodePprof(buf);
    const str = stringsOf(p);
    expect(p.sample.every((s) => s.label.length === 0)).toBe(true);
    expect(p.function.map((f) => str(f.name))).toEqual(expect.arrayContaining(['app', 'worker']));
    // Root (process) frame last in pprof's leaf-first order.
    for (const s of p.sample) {
      const rootId = s.locationId.at(-1) ?? 0;
      expect(['app', 'worker']).toContain(str(p.function.find((f) => Number(f.id) === Number(rootId))?.name ?? 0));
    }
    expect(fromPprof(buf)).toBe(serializeFolded(parseFolded(SMALL)));
  });

  it('round-trips the recorded burner capture', () => {
    const folded = fixtureFolded();
    const buf = toPprof(folded, { hz: 99 });
    expect([buf[0], buf[1]]).toEqual([0x1f, 0x8b]);
    expect(fromPprof(buf)).toBe(folded);

    const p = decodePprof(buf);
    const str = stringsOf(p);
    expect(p.sample.reduce((sum, s) => sum + Number(s.value[0] ?? 0), 0)).toBe(288);
    expect(p.sample.every((s) => s.label.length === 1 && str(s.label[0]?.key ?? 0) === 'comm' && str(s.label[0]?.str ?? 0) === 'burn')).toBe(true);
    const names = p.function.map((f) => str(f.name));
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('do_syscall_64_[k]');
    expect(names).not.toContain('burn');
    // Every stack ends, leaf first, at the process's entry point.
    const entry = p.function.find((f) => str(f.name) === '__libc_start_call_main');
    expect(p.sample.every((s) => Number(s.locationId.at(-1)) === Number(entry?.id))).toBe(true);
    const alpha = p.function.find((f) => str(f.name) === 'crunch_alpha');
    expect(p.sample.find((s) => Number(s.locationId[0]) === Number(alpha?.id))?.value.map(Number)).toEqual([192, Math.round(192e9 / 99)]);
  });

  it('is deterministic', () => {
    const folded = fixtureFolded();
    expect(toPprof(folded, { hz: 99 }).equals(toPprof(folded, { hz: 99 }))).toBe(true);
  });

  it('writes a valid empty profile for empty input', () => {
    const buf = toPprof('', { hz: 99 });
    expect([buf[0], buf[1]]).toEqual([0x1f, 0x8b]);
    const p = decodePprof(buf);
    expect(p.sample).toEqual([]);
    expect(p.location).toEqual([]);
    expect(p.function).toEqual([]);
    expect(p.sampleType).toHaveLength(2);
    expect(fromPprof(buf)).toBe('');
    expect(fromPprof(toPprof('', {}))).toBe('');
  });

  it('keeps odd frame names intact', () => {
    const expected = serializeFolded(parseFolded(ODD));
    expect(fromPprof(toPprof(ODD, { hz: 99 }))).toBe(expected);
    expect(fromPprof(toPprof(ODD, { comm: false }))).toBe(expected);
    const p = decodePprof(toPprof(ODD, {}));
    const str = stringsOf(p);
    expect(p.sample.flatMap((s) => s.label.map((l) => str(l.str)))).toEqual(expect.arrayContaining(['my "app"', 'ünïcødé']));
  });

  it('keeps a stack that is only the process name', () => {
    const p = decodePprof(toPprof('idle 7\n', {}));
    expect(p.sample).toHaveLength(1);
    expect(p.sample[0]?.locationId).toEqual([]);
    expect(fromPprof(toPprof('idle 7\n', {}))).toBe('idle 7\n');
  });

  it('reads an uncompressed profile too', () => {
    const raw = gunzipSync(toPprof(SMALL, {}));
    expect(fromPprof(raw)).toBe(serializeFolded(parseFolded(SMALL)));
  });

  it('rejects a bad hz', () => {
    expect(() => toPprof(SMALL, { hz: -1 })).toThrow(RangeError);
    expect(() => toPprof(SMALL, { hz: Number.NaN })).toThrow(RangeError);
  });
});
