import { describe, it, expect } from 'vitest';
import { foldStacks, parseFolded, serializeFolded, topFunctions, totalSamples } from '../../src/flamegraph/folded.ts';

describe('foldStacks', () => {
  it('merges identical stacks and sorts them', () => {
    const folded = foldStacks([
      { frames: ['app', 'main', 'b'], count: 2 },
      { frames: ['app', 'main', 'a'], count: 1 },
      { frames: ['app', 'main', 'b'], count: 3 },
    ]);
    expect(folded).toEqual([
      { frames: ['app', 'main', 'a'], count: 1 },
      { frames: ['app', 'main', 'b'], count: 5 },
    ]);
  });

  it('keeps frames from breaking the format', () => {
    const folded = foldStacks([
      { frames: ['a;b', 'line\nbreak', '  ', 'operator new(unsigned long)'], count: 1 },
      { frames: [], count: 2 },
    ]);
    expect(folded).toEqual([
      { frames: ['[unknown]'], count: 2 },
      { frames: ['a:b', 'line break', '[unknown]', 'operator new(unsigned long)'], count: 1 },
    ]);
  });

  it('drops stacks without samples', () => {
    expect(foldStacks([{ frames: ['x'], count: 0 }, { frames: ['y'], count: -1 }])).toEqual([]);
  });
});

describe('serializeFolded', () => {
  it('writes one sorted line per stack, independent of input order', () => {
    const a = { frames: ['app', 'main', 'a'], count: 1 };
    const b = { frames: ['app', 'main', 'b'], count: 5 };
    const expected = 'app;main;a 1\napp;main;b 5\n';
    expect(serializeFolded([a, b])).toBe(expected);
    expect(serializeFolded([b, a])).toBe(expected);
  });

  it('sorts by code unit, not locale', () => {
    const text = serializeFolded([
      { frames: ['b'], count: 1 },
      { frames: ['B'], count: 1 },
      { frames: ['_'], count: 1 },
    ]);
    expect(text).toBe('B 1\n_ 1\nb 1\n');
  });

  it('is empty for no stacks', () => {
    expect(serializeFolded([])).toBe('');
  });
});

describe('parseFolded', () => {
  it('round-trips serialized stacks, including frames with spaces', () => {
    const stacks = foldStacks([
      { frames: ['node', 'operator new(unsigned long)', 'malloc'], count: 7 },
      { frames: ['node', 'std::map<int, int>::find(int const&)'], count: 2 },
    ]);
    expect(parseFolded(serializeFolded(stacks))).toEqual(stacks);
  });

  it('tolerates blank lines and CRLF, and merges repeated stacks', () => {
    expect(parseFolded('a;b 1\r\n\n  \na;b 2\n')).toEqual([{ frames: ['a', 'b'], count: 3 }]);
  });

  it('names the malformed line', () => {
    expect(() => parseFolded('a;b 1\na;b\n')).toThrow(/line 2/);
    expect(() => parseFolded('a;b x\n')).toThrow(/line 1/);
    expect(() => parseFolded(' 5\n')).toThrow(/line 1/);
  });
});

describe('topFunctions', () => {
  // 11 samples. b: leaf in 6+2, on stack in 6+2 (once per stack despite recursion); a: leaf in 2, on stack in 6+2;
  // main: on stack in 10, never a leaf. The comm-only stack has no function at all.
  const stacks = foldStacks([
    { frames: ['app', 'main', 'a', 'b'], count: 6 },
    { frames: ['app', 'main', 'a'], count: 2 },
    { frames: ['app', 'main', 'b', 'b'], count: 2 },
    { frames: ['idle'], count: 1 },
  ]);

  it('does not rank [unknown]: unnamed frames are many functions, counted apart', () => {
    const withUnknown = foldStacks([
      { frames: ['app', 'main', '[unknown]'], count: 5 },
      { frames: ['app', 'main', 'work'], count: 3 },
    ]);
    expect(topFunctions(withUnknown, 20)).toEqual([
      { name: 'work', self: 3 / 8, total: 3 / 8 },
      { name: 'main', self: 0, total: 1 },
    ]);
  });

  it('ranks by self share, then total share', () => {
    expect(totalSamples(stacks)).toBe(11);
    expect(topFunctions(stacks, 20)).toEqual([
      { name: 'b', self: 8 / 11, total: 8 / 11 },
      { name: 'a', self: 2 / 11, total: 8 / 11 },
      { name: 'main', self: 0, total: 10 / 11 },
    ]);
  });

  it('never ranks the comm frame, even when a function has the same name', () => {
    const named = foldStacks([
      { frames: ['main', 'main', 'work'], count: 1 },
      { frames: ['app', 'run'], count: 1 },
    ]);
    expect(topFunctions(named, 20)).toEqual([
      { name: 'run', self: 0.5, total: 0.5 },
      { name: 'work', self: 0.5, total: 0.5 },
      { name: 'main', self: 0, total: 0.5 },
    ]);
  });

  it('respects the limit', () => {
    expect(topFunctions(stacks, 1).map((f) => f.name)).toEqual(['b']);
    expect(topFunctions(stacks, 0)).toEqual([]);
  });

  it('is empty without samples', () => {
    expect(topFunctions([], 20)).toEqual([]);
  });
});
