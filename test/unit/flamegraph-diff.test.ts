import { describe, expect, it } from 'vitest';
import { DiffInputError, diffColor, renderDiffFlamegraph } from '../../src/flamegraph/diff.ts';
import { FLAMEGRAPH_SCRIPT } from '../../src/flamegraph/script.ts';
import { FoldedInputError, renderFlamegraph } from '../../src/flamegraph/svg.ts';
import { assertWellFormed, byName, frames } from '../helpers/xml.ts';

function rgb(fill: string): [number, number, number] {
  const m = /^rgb\((\d+),(\d+),(\d+)\)$/.exec(fill);
  if (!m) throw new Error(`not an rgb() fill: ${fill}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}
const isRed = (fill: string) => {
  const [r, g, b] = rgb(fill);
  return r === 255 && g === b && b < 255;
};
const isBlue = (fill: string) => {
  const [r, g, b] = rgb(fill);
  return b === 255 && r === g && r < 255;
};
const WHITE = 'rgb(255,255,255)';

// width 1200 - 2 × 10 padding = 1180 px of frames; 10 samples → 118 px per sample.
// foo grew 3 → 6, bar shrank 5 → 2, gone (2) only in before, baz (2) only in after; totals equal (10 and 10).
const BEFORE = 'app;main;foo 3\napp;main;bar 5\napp;gone 2\n';
const AFTER = 'app;main;foo 6\napp;main;bar 2\napp;baz 2\n';

/** What the layout tests compare: everything but the colour and the tooltip. */
const geometry = (svg: string) => frames(svg).map(({ name, x, y, width, label }) => ({ name, x, y, width, label }));

describe('renderDiffFlamegraph layout', () => {
  it('takes frames and widths from the second profile', () => {
    const f = byName(renderDiffFlamegraph(BEFORE, AFTER));
    expect(frames(renderDiffFlamegraph(BEFORE, AFTER)).map((x) => x.name)).toEqual(['all', 'app', 'baz', 'main', 'bar', 'foo']);
    expect(f.get('all')).toMatchObject({ x: 10, width: 1180 });
    expect(f.get('baz')).toMatchObject({ x: 10, width: 236 });
    expect(f.get('main')).toMatchObject({ x: 246, width: 944 });
    expect(f.get('bar')).toMatchObject({ x: 246, width: 236 }); // 2 samples after (5 before)
    expect(f.get('foo')).toMatchObject({ x: 482, width: 708 }); // 6 samples after (3 before)
    expect(f.get('main')!.y - f.get('foo')!.y).toBe(16);
  });

  it('draws exactly what renderFlamegraph(after) draws, whatever the options', () => {
    const before = 'p;big 900\np;x 50\np;y;z 40\np;old 10\n';
    const after = 'p;big 989\np;x 1\np;y 9\np;y;z 1\n';
    const optionSets = [{}, { minWidth: 2 }, { minWidth: '1.5%' as const }, { inverted: true }, { width: 640, frameHeight: 20 }];
    for (const opts of optionSets) {
      // The diff graph always has a legend row under the title: a subtitle gives the plain graph the same rows.
      const plain = renderFlamegraph(after, { ...opts, subtitle: 'x' });
      const diff = renderDiffFlamegraph(before, after, opts);
      expect(geometry(diff)).toEqual(geometry(plain));
      expect(diff.match(/<!-- \d+ frames drawn, \d+ dropped [^>]*-->/)![0]).toBe(
        plain.match(/<!-- \d+ frames drawn, \d+ dropped [^>]*-->/)![0],
      );
      expect(/<svg [^>]*>/.exec(diff)![0]).toBe(/<svg [^>]*>/.exec(plain)![0]);
    }
    const reversed = 'app;a;leaf 2\napp;b;leaf 6\n';
    expect(geometry(renderDiffFlamegraph('app;a;leaf 2\napp;b;leaf 3\n', reversed, { reverse: true }))).toEqual(
      geometry(renderFlamegraph(reversed, { reverse: true, subtitle: 'x' })),
    );
  });

  it('leaves out frames that exist only in the first profile, and counts them', () => {
    const svg = renderDiffFlamegraph(BEFORE, AFTER);
    expect(byName(svg).has('gone')).toBe(false);
    expect(svg).not.toContain('gone');
    expect(svg).toContain('<!-- 1 frame only in before, not drawn; largest self change 3 samples -->');
    // A whole subtree that disappeared: its three frames are counted, none drawn.
    const svg2 = renderDiffFlamegraph('app;main;foo 3\napp;old;x;y 4\n', 'app;main;foo 3\n');
    expect(frames(svg2).map((f) => f.name)).toEqual(['all', 'app', 'main', 'foo']);
    expect(svg2).toContain('<!-- 3 frames only in before, not drawn;');
  });

  it('matches frames by their path: the same function under another parent is another frame', () => {
    const all = frames(renderDiffFlamegraph('p;a;lex 5\np;b;lex 1\n', 'p;a;lex 1\np;b;lex 5\n'));
    const lex = all.filter((f) => f.name === 'lex');
    expect(lex.map((f) => f.x)).toEqual([10, 206.67]); // under a (1 of 6 samples), then under b
    expect(isBlue(lex[0]!.fill)).toBe(true);
    expect(isRed(lex[1]!.fill)).toBe(true);
  });
});

describe('renderDiffFlamegraph colours', () => {
  it('paints a function that grew red, one that shrank blue, unchanged ones white', () => {
    const f = byName(renderDiffFlamegraph(BEFORE, AFTER));
    expect(isRed(f.get('foo')!.fill)).toBe(true);
    expect(isBlue(f.get('bar')!.fill)).toBe(true);
    expect(isRed(f.get('baz')!.fill)).toBe(true); // new in after
    for (const name of ['all', 'app', 'main']) expect(f.get(name)!.fill).toBe(WHITE);
    // Intensity ∝ |delta| / max |delta| (3): foo +3 and bar −3 saturate, baz +2 is paler: 210 × (3 − 2) / 3 = 70.
    expect(f.get('foo')!.fill).toBe('rgb(255,0,0)');
    expect(f.get('bar')!.fill).toBe('rgb(0,0,255)');
    expect(f.get('baz')!.fill).toBe('rgb(255,70,70)');
  });

  it("colours by the change of a frame's own (self) samples, not its total", () => {
    // main's total grows 10 → 20 but all of it is in work: main stays white, work is red.
    let f = byName(renderDiffFlamegraph('p;main 5\np;main;work 5\n', 'p;main 5\np;main;work 15\n'));
    expect(f.get('main')!.fill).toBe(WHITE);
    expect(f.get('p')!.fill).toBe(WHITE);
    expect(f.get('work')!.fill).toBe('rgb(255,0,0)');
    // main gains 3 samples of its own: red, while work is unchanged.
    f = byName(renderDiffFlamegraph('p;main;work 5\n', 'p;main 3\np;main;work 5\n'));
    expect(f.get('main')!.fill).toBe('rgb(255,0,0)');
    expect(f.get('work')!.fill).toBe(WHITE);
  });

  it('scales intensity by the largest change among the frames drawn', () => {
    // 1000 samples, 1.18 px each. tiny shrinks by 99 but is 1.18 px wide: with minWidth 2 it is not drawn, and
    // big (+90) becomes the largest change; with it drawn, big is 210 × (99 − 90) / 99 ≈ 19 from saturation.
    const before = 'p;big 900\np;tiny 100\n';
    const after = 'p;big 990\np;tiny 1\np;x 9\n';
    const drawn = byName(renderDiffFlamegraph(before, after));
    expect(drawn.get('tiny')!.fill).toBe('rgb(0,0,255)');
    expect(drawn.get('big')!.fill).toBe('rgb(255,19,19)');
    const pruned = byName(renderDiffFlamegraph(before, after, { minWidth: 2 }));
    expect(pruned.has('tiny')).toBe(false);
    expect(pruned.get('big')!.fill).toBe('rgb(255,0,0)');
  });

  it('diffColor is linear in |delta| / max from pale (210) to saturated', () => {
    expect(diffColor(0, 5)).toBe(WHITE);
    expect(diffColor(3, 0)).toBe(WHITE);
    expect(diffColor(5, 5)).toBe('rgb(255,0,0)');
    expect(diffColor(-5, 5)).toBe('rgb(0,0,255)');
    expect(diffColor(1, 4)).toBe('rgb(255,158,158)'); // 210 × 3/4 = 157.5
    expect(diffColor(-2, 4)).toBe('rgb(105,105,255)');
    expect(diffColor(1e-12, 4)).toBe('rgb(255,210,210)');
  });

  it('treats an empty first profile as "everything is new"', () => {
    const f = byName(renderDiffFlamegraph('', 'a 1\nb 3\n'));
    expect(f.get('b')!.fill).toBe('rgb(255,0,0)');
    expect(f.get('a')!.fill).toBe('rgb(255,140,140)'); // 210 × 2/3
    expect(f.get('a')!.info).toBe('a (1 samples, 25.00%; +1 samples, +25.00%)');
  });
});

describe('renderDiffFlamegraph normalize', () => {
  const DOUBLE = 'app;main;foo 12\napp;main;bar 4\napp;baz 4\n'; // AFTER, every count × 2

  it('turns a pure difference of scale into no difference at all', () => {
    const raw = frames(renderDiffFlamegraph(DOUBLE, AFTER));
    for (const f of raw.filter((x) => x.name !== 'all' && x.name !== 'app' && x.name !== 'main')) {
      expect(isBlue(f.fill)).toBe(true); // half as many samples each, without normalize
    }
    const svg = renderDiffFlamegraph(DOUBLE, AFTER, { normalize: true });
    for (const f of frames(svg)) {
      expect(f.fill).toBe(WHITE);
      expect(f.info).toMatch(/; 0 samples, 0\.00%\)$/);
    }
    expect(svg).toContain('red: more in after, blue: fewer (self samples vs before, before scaled ×0.5 to the same total)');
    expect(svg).toContain('; before scaled by 0.5 -->');
    // Float noise of decimal counts (0.1 + 0.2 ≠ 0.3) does not show as a change either.
    for (const f of frames(renderDiffFlamegraph('a 1\nb 2\n', 'a 0.1\nb 0.2\n', { normalize: true }))) {
      expect(f.fill).toBe(WHITE);
    }
  });

  it('compares shares, so a frame can flip from blue to red', () => {
    // 20 samples before, 10 after: a 10 → 3 and b 10 → 7 both shrink in raw counts; scaled to 10, a 5 → 3 and b 5 → 7.
    const raw = byName(renderDiffFlamegraph('a 10\nb 10\n', 'a 3\nb 7\n'));
    expect(isBlue(raw.get('a')!.fill)).toBe(true);
    expect(isBlue(raw.get('b')!.fill)).toBe(true);
    expect(raw.get('b')!.info).toBe('b (7 samples, 70.00%; -3 samples, -30.00%)');
    const norm = byName(renderDiffFlamegraph('a 10\nb 10\n', 'a 3\nb 7\n', { normalize: true }));
    expect(norm.get('a')!.fill).toBe('rgb(0,0,255)');
    expect(norm.get('b')!.fill).toBe('rgb(255,0,0)');
    expect(norm.get('a')!.info).toBe('a (3 samples, 30.00%; -2 samples, -20.00%)');
    expect(norm.get('b')!.info).toBe('b (7 samples, 70.00%; +2 samples, +20.00%)');
  });

  it('leaves an empty first profile alone', () => {
    const f = byName(renderDiffFlamegraph('', 'a 1\n', { normalize: true }));
    expect(f.get('a')!.fill).toBe('rgb(255,0,0)');
  });
});

describe('renderDiffFlamegraph text', () => {
  it('writes the delta into tooltips: "name (N samples, P%; ±D samples, ±X%)"', () => {
    const f = byName(renderDiffFlamegraph(BEFORE, AFTER));
    expect(f.get('foo')!.info).toBe('foo (6 samples, 60.00%; +3 samples, +30.00%)');
    expect(f.get('bar')!.info).toBe('bar (2 samples, 20.00%; -3 samples, -30.00%)');
    expect(f.get('baz')!.info).toBe('baz (2 samples, 20.00%; +2 samples, +20.00%)');
    expect(f.get('main')!.info).toBe('main (8 samples, 80.00%; 0 samples, 0.00%)');
    expect(f.get('all')!.info).toBe('all (10 samples, 100.00%; 0 samples, 0.00%)');
    // countName everywhere; fractional deltas to 2 decimals.
    const g = byName(renderDiffFlamegraph('a 1\nb 2\n', 'a 1.5\nb 2\n', { countName: 'ms' }));
    expect(g.get('a')!.info).toBe('a (1.5 ms, 42.86%; +0.5 ms, +14.29%)');
    expect(g.get('b')!.info).toBe('b (2 ms, 57.14%; 0 ms, 0.00%)');
  });

  it('has a default title, a legend, and takes title, subtitle and profile labels', () => {
    const svg = renderDiffFlamegraph(BEFORE, AFTER);
    expect(svg).toContain('>Differential Flame Graph</text>');
    expect(svg).toContain('<text id="subtitle" x="600" y="42">red: more in after, blue: fewer (self samples vs before)</text>');
    const named = renderDiffFlamegraph(BEFORE, AFTER, {
      title: 'v1 → v2',
      subtitle: 'host-1',
      beforeLabel: 'v1',
      afterLabel: 'v2',
    });
    expect(named).toContain('>v1 → v2</text>');
    expect(named).toContain('>host-1 — red: more in v2, blue: fewer (self samples vs v1)</text>');
    expect(named).toContain('<!-- 1 frame only in v1, not drawn;');
    expect(renderDiffFlamegraph(BEFORE, AFTER, { inverted: true })).toContain('>Differential Icicle Graph</text>');
  });

  it('escapes names, title, subtitle and labels, and stays well-formed XML', () => {
    const nasty = 'std::vector<int>::operator[]&"quoted"\'s\u0001ctl';
    const svg = renderDiffFlamegraph(`app;${nasty} 1\napp;]]>x 1\n`, `app;${nasty} 2\napp;]]>x 1\napp;--y-- 1\n`, {
      title: 'a <b> & "c"',
      subtitle: "it's\u0007",
      countName: '<n>',
      beforeLabel: 'old--',
      afterLabel: 'new & <shiny>',
    });
    assertWellFormed(svg);
    expect(svg).not.toContain('\u0001');
    expect(svg).not.toContain('\u0007');
    expect(svg).toContain(
      'std::vector&lt;int&gt;::operator[]&amp;&quot;quoted&quot;&apos;s\ufffdctl (2 &lt;n&gt;, 50.00%; +1 &lt;n&gt;, +25.00%)',
    );
    expect(svg).toContain('>a &lt;b&gt; &amp; &quot;c&quot;</text>');
    expect(svg).toContain('>it&apos;s\ufffd — red: more in new &amp; &lt;shiny&gt;, blue: fewer (self &lt;n&gt; vs old--)</text>');
    expect(byName(svg).get(']]>x')!.fill).toBe(WHITE);
    expect(byName(svg).get('--y--')).toBeDefined();
  });

  it('always produces well-formed XML', () => {
    assertWellFormed(renderDiffFlamegraph(BEFORE, AFTER));
    assertWellFormed(renderDiffFlamegraph(BEFORE, AFTER, { inverted: true, minWidth: 300, normalize: true }));
    assertWellFormed(renderDiffFlamegraph('a;\ud800lone 1\n', 'a;\ud800lone;b\tc 1\n', { countName: 'x--' }));
    assertWellFormed(renderDiffFlamegraph(BEFORE, ''));
    assertWellFormed(renderDiffFlamegraph('', ''));
    const many = (k: number) =>
      Array.from({ length: 300 }, (_, i) => `p;f${i % 17};g${i % (k + 40)} ${1 + ((i * k) % 5)}`).join('\n');
    assertWellFormed(renderDiffFlamegraph(many(3), many(7), { normalize: true }));
  });

  it('ships the same interactive script, configured, with the elements it expects', () => {
    const svg = renderDiffFlamegraph(BEFORE, AFTER, { nameType: ']]></script><x>', inverted: true });
    const m = /<script type="text\/ecmascript"><!\[CDATA\[([\s\S]*?)\]\]><\/script>/.exec(svg);
    expect(m).not.toBeNull();
    expect(() => new Function(m![1]!)).not.toThrow();
    expect(m![1]).toContain(FLAMEGRAPH_SCRIPT.slice(FLAMEGRAPH_SCRIPT.indexOf('var W = cfg.width')));
    expect(m![1]).toContain('"nameType":"]]\\u003e\\u003c/script\\u003e\\u003cx\\u003e"');
    expect(m![1]).toContain('"inverted":true');
    for (const needle of ['id="unzoom"', 'id="search"', 'id="ignorecase"', 'id="details"', 'id="matched"', '<g id="frames">']) {
      expect(svg).toContain(needle);
    }
    // One <g><title/><rect/><text/></g> per frame inside #frames, as the script reads them.
    const inside = svg.slice(svg.indexOf('<g id="frames">'), svg.indexOf('</g>\n<script'));
    expect(inside.match(/<g>/g)).toHaveLength(6);
    expect(frames(svg)).toHaveLength(6);
    assertWellFormed(svg);
  });

  it('renders a message when the second profile is empty', () => {
    for (const after of ['', '\n', '# nothing\n', 'a;b 0\n']) {
      const svg = renderDiffFlamegraph(BEFORE, after);
      expect(svg).toContain('ERROR: No stack counts found in after');
      assertWellFormed(svg);
    }
  });
});

describe('renderDiffFlamegraph determinism and input', () => {
  it('gives the same bytes twice and for any line order', () => {
    const b = ['a;b;c 1', 'a;b;d 2', 'x;y 3', 'a;b 4', 'a;e;c 5', 'x 1'];
    const a = ['a;b;c 4', 'a;b;d 1', 'x;y 3', 'a;b 1', 'a;f 5', 'x 2'];
    const one = renderDiffFlamegraph(`${b.join('\n')}\n`, `${a.join('\n')}\n`);
    expect(renderDiffFlamegraph(`${b.join('\n')}\n`, `${a.join('\n')}\n`)).toBe(one);
    expect(renderDiffFlamegraph([...b].reverse().join('\r\n'), [...a].sort().join('\n'))).toBe(one);
    const split = ['a;b;c 1', 'a;b;d 1', 'a;b;d 1', 'x;y 3', 'a;b 4', 'a;e;c 5', 'x 1']; // a;b;d 2 as two lines
    expect(renderDiffFlamegraph(split.join('\n'), a.join('\n'))).toBe(one);
    const normalized = renderDiffFlamegraph(b.join('\n'), a.join('\n'), { normalize: true });
    const shuffled = renderDiffFlamegraph([...b].reverse().join('\n'), [...a].reverse().join('\n'), { normalize: true });
    expect(shuffled).toBe(normalized);
  });

  it('rejects malformed lines, naming the input and the line', () => {
    const cases: [string, string, 'before' | 'after', number, RegExp][] = [
      ['a;b 1\n\na;c\n', AFTER, 'before', 3, /^before: folded stacks line 3: expected/],
      [BEFORE, '# c\na;b x\n', 'after', 2, /^after: folded stacks line 2: sample count is not a number/],
      [BEFORE, 'a;b -3\n', 'after', 1, /^after: folded stacks line 1: negative sample count/],
      ['x\n', 'y\n', 'before', 1, /^before: /], // both broken: the first input is reported
    ];
    for (const [before, after, input, line, message] of cases) {
      let caught: unknown;
      try {
        renderDiffFlamegraph(before, after);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(FoldedInputError);
      expect(caught).toBeInstanceOf(DiffInputError);
      expect((caught as DiffInputError).input).toBe(input);
      expect((caught as DiffInputError).line).toBe(line);
      expect((caught as Error).message).toMatch(message);
      expect((caught as Error).cause).toBeInstanceOf(FoldedInputError);
    }
  });

  it('rejects nonsensical options', () => {
    expect(() => renderDiffFlamegraph(BEFORE, AFTER, { width: 5 })).toThrow(RangeError);
    expect(() => renderDiffFlamegraph(BEFORE, AFTER, { minWidth: -1 })).toThrow(RangeError);
    expect(() => renderDiffFlamegraph(BEFORE, AFTER, { minWidth: 'x%' as `${number}%` })).toThrow(RangeError);
  });
});
