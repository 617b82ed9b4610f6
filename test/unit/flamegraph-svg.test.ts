import { describe, expect, it } from 'vitest';
import { frameColor, frameFamily, PALETTE_NAMES } from '../../src/flamegraph/palette.ts';
import { FLAMEGRAPH_SCRIPT } from '../../src/flamegraph/script.ts';
import { fitLabel, FoldedInputError, renderFlamegraph, renderFlamegraphChunks, renderFrameTree } from '../../src/flamegraph/svg.ts';
import { buildFrameTree, buildFrameTreeFromStream, FrameTreeBuilder } from '../../src/flamegraph/tree.ts';
import { assertWellFormed, byName, frames } from '../helpers/xml.ts';

type XmlValidate = (xml: string) => true | { err: { msg: string } };

/** fast-xml-parser's validator where it is installed (s3rver brings it; we do not depend on it), else why not. */
async function loadXmlValidator(): Promise<{ validate: XmlValidate } | { missing: string }> {
  try {
    const mod = (await import('fast-xml-parser' as string)) as {
      validate?: XmlValidate;
      XMLValidator?: { validate: XmlValidate };
      default?: { validate?: XmlValidate };
    };
    const validate = mod.validate ?? mod.XMLValidator?.validate ?? mod.default?.validate;
    return validate ? { validate } : { missing: 'fast-xml-parser has no validate()' };
  } catch {
    return { missing: 'fast-xml-parser is not installed' };
  }
}
const xmlValidator = await loadXmlValidator();

// width 1200 - 2 × 10 padding = 1180 px of frames.
const THREE = 'app;main;foo 3\napp;main;bar 5\napp;baz 2\n';

describe('renderFlamegraph layout', () => {
  it('sizes frames exactly from cumulative counts, children in name order', () => {
    const f = byName(renderFlamegraph(THREE));
    // 10 samples over 1180 px: 118 px per sample. app's children by name: baz (2), main (8); main's: bar (5), foo (3).
    expect(f.get('all')).toMatchObject({ x: 10, width: 1180 });
    expect(f.get('app')).toMatchObject({ x: 10, width: 1180 });
    expect(f.get('baz')).toMatchObject({ x: 10, width: 236 });
    expect(f.get('main')).toMatchObject({ x: 246, width: 944 });
    expect(f.get('bar')).toMatchObject({ x: 246, width: 590 });
    expect(f.get('foo')).toMatchObject({ x: 836, width: 354 });
    // Rows: root at the bottom, one frameHeight (16) per level.
    expect(f.get('app')!.y - f.get('main')!.y).toBe(16);
    expect(f.get('all')!.y - f.get('app')!.y).toBe(16);
    expect(f.get('bar')!.y).toBe(f.get('foo')!.y);
  });

  it('rounds shared edges once so siblings tile without gaps or overlaps', () => {
    // 3 samples over 1180 px: edges at 10, 403.33, 796.67, 1190.
    const f = byName(renderFlamegraph('a;b 1\na;c 1\nd 1\n', { minWidth: 0 }));
    expect(f.get('a')).toMatchObject({ x: 10, width: 786.67 });
    expect(f.get('b')).toMatchObject({ x: 10, width: 393.33 });
    expect(f.get('c')).toMatchObject({ x: 403.33, width: 393.34 });
    expect(f.get('d')).toMatchObject({ x: 796.67, width: 393.33 });
    const b = f.get('b')!;
    const c = f.get('c')!;
    const d = f.get('d')!;
    expect(Math.round((b.x + b.width) * 100)).toBe(Math.round(c.x * 100));
    expect(Math.round((f.get('a')!.x + f.get('a')!.width) * 100)).toBe(Math.round(d.x * 100));
    expect(Math.round((d.x + d.width) * 100)).toBe(119000);
  });

  it('merges identical prefixes and repeated stacks', () => {
    const svg = renderFlamegraph('p;a;b 1\np;a;c 2\np;a;b 3\np 4\n');
    const all = frames(svg);
    expect(all.map((f) => f.name).sort()).toEqual(['a', 'all', 'b', 'c', 'p']);
    const f = byName(svg);
    expect(f.get('a')!.info).toBe('a (6 samples, 60.00%)');
    expect(f.get('b')!.info).toBe('b (4 samples, 40.00%)');
    expect(f.get('p')!.info).toBe('p (10 samples, 100.00%)');
  });

  it('formats tooltips as "name (N countName, P%)" and labels frames that fit', () => {
    const svg = renderFlamegraph(THREE, { countName: 'bytes' });
    const f = byName(svg);
    expect(f.get('main')!.info).toBe('main (8 bytes, 80.00%)');
    expect(f.get('all')!.info).toBe('all (10 bytes, 100.00%)');
    expect(f.get('foo')!.label).toBe('foo');
    // (60 - 3) / (12 × 0.59) → 8 chars: 6 of the name and "..".
    expect(fitLabel('a_rather_long_function_name', 60)).toBe('a_rath..');
    expect(fitLabel('abc', 10)).toBe('');
    expect(renderFlamegraph(THREE, { nameType: 'Frame:' })).toContain('"nameType":"Frame:"');
  });

  it('drops frames narrower than minWidth in px and reports how many', () => {
    // 1000 samples: 1.18 px per sample. x and z (1 sample) are 1.18 px, y (10) 11.8 px.
    const input = 'p;big 989\np;x 1\np;y 9\np;y;z 1\n';
    const svg = renderFlamegraph(input, { minWidth: 2 });
    const names = frames(svg).map((f) => f.name);
    expect(names).toEqual(['all', 'p', 'big', 'y']);
    expect(svg).toContain('<!-- 4 frames drawn, 2 dropped (narrower than 2 px) -->');
    expect(svg).toMatch(/<text id="dropped"[^>]*>2 frames narrower than 2 px omitted<\/text>/);
    // Dropped siblings keep their room: y starts after big and x (990 samples).
    const f = byName(svg);
    expect(f.get('y')).toMatchObject({ x: 1178.2, width: 11.8 });
    // Default 0.1 px keeps everything here.
    expect(frames(renderFlamegraph(input))).toHaveLength(6);
    expect(renderFlamegraph(input)).toContain('<!-- 6 frames drawn, 0 dropped (narrower than 0.1 px) -->');
    expect(renderFlamegraph(input)).not.toContain('id="dropped"');
  });

  it('drops frames narrower than a percentage of all samples', () => {
    // 0.5% = 5 samples drops x and z (1 each); 1% = 10 keeps y (10); 1.5% = 15 drops it too.
    const input = 'p;big 989\np;x 1\np;y 9\np;y;z 1\n';
    expect(frames(renderFlamegraph(input, { minWidth: '0.5%' })).map((f) => f.name)).toEqual(['all', 'p', 'big', 'y']);
    expect(frames(renderFlamegraph(input, { minWidth: '1%' })).map((f) => f.name)).toEqual(['all', 'p', 'big', 'y']);
    expect(frames(renderFlamegraph(input, { minWidth: '1.5%' })).map((f) => f.name)).toEqual(['all', 'p', 'big']);
    expect(renderFlamegraph(input, { minWidth: '1.5%' })).toContain('3 dropped (narrower than 1.5% of samples)');
  });

  it('inverted puts the root at the top, rows going down', () => {
    const f = byName(renderFlamegraph(THREE, { inverted: true }));
    expect(f.get('app')!.y - f.get('all')!.y).toBe(16);
    expect(f.get('main')!.y - f.get('app')!.y).toBe(16);
    expect(f.get('main')!.x).toBe(246);
    expect(renderFlamegraph(THREE, { inverted: true })).toContain('"inverted":true');
    expect(renderFlamegraph(THREE, { inverted: true })).toContain('>Icicle Graph</text>');
  });

  it('reverse merges from the leaf', () => {
    const svg = renderFlamegraph('app;a;leaf 2\napp;b;leaf 3\napp;c 5\n', { reverse: true });
    const all = frames(svg);
    // Level 1 (children of all): c (5) and leaf (5), by name.
    const f = byName(svg);
    expect(f.get('c')).toMatchObject({ x: 10, width: 590 });
    expect(f.get('leaf')).toMatchObject({ x: 600, width: 590 });
    expect(f.get('leaf')!.info).toBe('leaf (5 samples, 50.00%)');
    // Under leaf: a (2), b (3), then app under each.
    expect(f.get('a')).toMatchObject({ x: 600, width: 236 });
    expect(f.get('b')).toMatchObject({ x: 836, width: 354 });
    expect(all.filter((x) => x.name === 'app').map((x) => [x.x, x.width])).toEqual([
      [10, 590],
      [600, 236],
      [836, 354],
    ]);
  });
});

describe('renderFlamegraph determinism', () => {
  it('gives the same bytes twice and for any line order or input shape', () => {
    const lines = ['a;b;c 1', 'a;b;d 2', 'x;y 3', 'a;b 4', 'a;e;c 5', 'x 1'];
    const one = renderFlamegraph(`${lines.join('\n')}\n`);
    expect(renderFlamegraph(`${lines.join('\n')}\n`)).toBe(one);
    expect(renderFlamegraph(`${[...lines].reverse().join('\r\n')}`)).toBe(one);
    expect(renderFlamegraph([...lines].sort())).toBe(one);
    expect(renderFlamegraph(['a;b;c 1', 'a;b;d 1', 'a;b;d 1', 'x;y 3', 'a;b 4', 'a;e;c 5', 'x 1'])).toBe(one);
    // Chunks split anywhere.
    const text = `${lines.join('\n')}\n`;
    const builder = new FrameTreeBuilder();
    for (let i = 0; i < text.length; i += 3) builder.write(text.slice(i, i + 3));
    const tree = builder.end();
    expect(tree.size).toBe(buildFrameTree(text).size);
    expect(tree.totalSamples).toBe(16);
  });

  it('colours a function the same everywhere, from its name only', () => {
    const f1 = frames(renderFlamegraph('p;shared;x 1\nq;shared 2\n'));
    const shared = f1.filter((f) => f.name === 'shared');
    expect(shared).toHaveLength(2);
    expect(shared[0]!.fill).toBe(shared[1]!.fill);
    expect(frameColor('shared')).toBe(shared[0]!.fill);
    for (const p of PALETTE_NAMES) expect(frameColor('some_func', p)).toMatch(/^rgb\(\d{1,3},\d{1,3},\d{1,3}\)$/);
  });
});

describe('renderFlamegraph colours', () => {
  it('draws kernel frames from a distinct family unless kernelColor is off', () => {
    const svg = renderFlamegraph('app;read;sys_read_[k];vfs_read_[k] 3\napp;compute 2\n');
    const f = byName(svg);
    const kernel = (fill: string) => {
      const [r, , b] = fill.match(/\d+/g)!.map(Number) as [number, number, number];
      return b > r; // steel blue under the warm "hot" palette
    };
    expect(kernel(f.get('sys_read_[k]')!.fill)).toBe(true);
    expect(kernel(f.get('vfs_read_[k]')!.fill)).toBe(true);
    expect(kernel(f.get('read')!.fill)).toBe(false);
    expect(kernel(f.get('compute')!.fill)).toBe(false);
    expect(frameFamily('vfs_read_[k]', 'hot')).toBe('kernelCool');
    expect(frameFamily('vfs_read_[k]', 'hot', false)).toBe('hot');
    expect(frameFamily('vfs_read_[k]', 'mem')).toBe('kernel');
    const off = byName(renderFlamegraph('app;read;sys_read_[k] 3\n', { kernelColor: false }));
    expect(kernel(off.get('sys_read_[k]')!.fill)).toBe(false);
  });

  it('java and js palettes tell kernel, JIT, interpreted and native frames apart', () => {
    expect(frameFamily('do_syscall_64_[k]', 'java')).toBe('kernel');
    expect(frameFamily('Ljava/util/HashMap;::get_[j]', 'java')).toBe('green');
    expect(frameFamily('Interpreter_[i]', 'java')).toBe('aqua');
    expect(frameFamily('java/lang/Thread.run', 'java')).toBe('green');
    expect(frameFamily('JavaThread::run', 'java')).toBe('yellow');
    expect(frameFamily('__libc_start_main', 'java')).toBe('red');
    expect(frameFamily('*handler /srv/app.js:12', 'js')).toBe('green');
    expect(frameFamily('~parse node:internal/url:3', 'js')).toBe('aqua');
    expect(frameFamily('v8::internal::Runtime_X', 'js')).toBe('yellow');
    expect(frameFamily('memcpy', 'js')).toBe('red');
    expect(frameFamily('mmap', 'mem')).toBe('mem');
    expect(frameFamily('--', 'chain')).toBe('grey');
  });
});

describe('renderFlamegraph escaping and XML', () => {
  it('escapes markup and replaces chars XML cannot hold, in names, title and subtitle', () => {
    const nasty = 'std::vector<int>::operator[]&"quoted"\'s\u0001ctl';
    const svg = renderFlamegraph(`app;${nasty} 2\napp;]]>x 1\n`, {
      title: 'a <b> & "c"',
      subtitle: "it's\u0007",
      countName: '<n>',
    });
    assertWellFormed(svg);
    expect(svg).not.toContain('\u0001');
    expect(svg).not.toContain('\u0007');
    expect(svg).toContain('std::vector&lt;int&gt;::operator[]&amp;&quot;quoted&quot;&apos;s\ufffdctl (2 &lt;n&gt;, 66.67%)');
    expect(svg).toContain('>a &lt;b&gt; &amp; &quot;c&quot;</text>');
    expect(svg).toContain('>it&apos;s\ufffd</text>');
    expect(byName(svg).get(']]>x')).toBeDefined();
  });

  it('always produces well-formed XML', () => {
    assertWellFormed(renderFlamegraph(THREE));
    assertWellFormed(renderFlamegraph(THREE, { inverted: true, minWidth: 100, subtitle: 'x--y-' }));
    assertWellFormed(renderFlamegraph('a;\ud800lone;b\tc 1\n', { countName: 'x--' }));
    assertWellFormed(renderFlamegraph(''));
    const many = Array.from({ length: 300 }, (_, i) => `p;f${i % 17};g${i} ${1 + (i % 5)}`).join('\n');
    assertWellFormed(renderFlamegraph(many));
  });

  // Skipped, saying why, where the validator is missing: the strict check above then stands alone.
  it.skipIf('missing' in xmlValidator)(
    `is also accepted by fast-xml-parser${'missing' in xmlValidator ? ` [skipped: ${xmlValidator.missing}]` : ''}`,
    () => {
      expect('validate' in xmlValidator).toBe(true);
      const { validate } = xmlValidator as { validate: XmlValidate };
      expect(validate(renderFlamegraph(`app;a<b>&"c" 1\napp;d 2\n`))).toBe(true);
      expect(validate(renderFlamegraph(''))).toBe(true);
    },
  );

  it('ships an interactive script that parses as JavaScript and holds no CDATA terminator', () => {
    const svg = renderFlamegraph(THREE, { nameType: ']]></script><x>' });
    const m = /<script type="text\/ecmascript"><!\[CDATA\[([\s\S]*?)\]\]><\/script>/.exec(svg);
    expect(m).not.toBeNull();
    expect(() => new Function(m![1]!)).not.toThrow();
    expect(FLAMEGRAPH_SCRIPT).not.toContain(']]>');
    for (const needle of ['Reset Zoom', 'id="search"', 'id="ignorecase"', 'id="details"', 'id="matched"']) {
      expect(svg).toContain(needle);
    }
    expect(m![1]).toContain('"nameType":"]]\\u003e\\u003c/script\\u003e\\u003cx\\u003e"');
    assertWellFormed(svg);
  });
});

describe('renderFlamegraph input', () => {
  it('renders a message for empty input', () => {
    for (const input of ['', '\n\n', '# only a comment\n', 'a;b 0\n']) {
      const svg = renderFlamegraph(input);
      expect(svg).toContain('No stack counts found');
      assertWellFormed(svg);
    }
  });

  it('ignores blank lines and comments, accepts CRLF and decimal counts', () => {
    const f = byName(renderFlamegraph('# comment\n\n  \r\na;b 1.5\r\n   # indented comment\na;c 2.5\n'));
    expect(f.get('a')!.info).toBe('a (4 samples, 100.00%)');
    expect(f.get('b')!.info).toBe('b (1.5 samples, 37.50%)');
  });

  it('rejects malformed lines with their line number', () => {
    const cases: [string, number, RegExp][] = [
      ['a;b 1\n\na;c\n', 3, /line 3: expected/],
      ['# c\na;b x\n', 2, /line 2: sample count is not a number/],
      ['a;b -3\n', 1, /line 1: negative sample count/],
      ['a;b 1\na;b 1e3\n', 2, /line 2/],
      ['a 1\nb 2\n 3\n', 3, /line 3/],
    ];
    for (const [input, line, message] of cases) {
      let caught: unknown;
      try {
        renderFlamegraph(input);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(FoldedInputError);
      expect((caught as FoldedInputError).line).toBe(line);
      expect((caught as Error).message).toMatch(message);
    }
  });

  it('keeps frames with spaces and empty frames', () => {
    const f = byName(renderFlamegraph('app;operator new(unsigned long);;x  7\n'));
    expect(f.get('operator new(unsigned long)')!.info).toBe('operator new(unsigned long) (7 samples, 100.00%)');
    expect(f.get('[unknown]')).toBeDefined();
    expect(f.get('x')).toBeDefined();
  });

  it('rejects nonsensical options', () => {
    expect(() => renderFlamegraph(THREE, { width: 5 })).toThrow(RangeError);
    expect(() => renderFlamegraph(THREE, { minWidth: -1 })).toThrow(RangeError);
    expect(() => renderFlamegraph(THREE, { minWidth: 'x%' as `${number}%` })).toThrow(RangeError);
  });
});

describe('FrameTreeBuilder byte input', () => {
  const encoder = new TextEncoder();
  /** Renders `text` fed as UTF-8 bytes in chunks of `size` bytes (splitting lines and multi-byte chars). */
  const renderBytes = (text: string, size: number, options: { reverse?: boolean } = {}) => {
    const bytes = encoder.encode(text);
    const builder = new FrameTreeBuilder(options);
    for (let i = 0; i < bytes.length; i += size) builder.write(bytes.subarray(i, i + size));
    return renderFrameTree(builder.end(), options);
  };

  it('gives the same bytes as text input, whatever the chunking', () => {
    // Enough distinct, long, partly non-ASCII names to outgrow the initial tables.
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const d = 1 + (i % 9);
      const frames = Array.from({ length: d }, (_, k) => `ns::fn_${(i * 7 + k * 13) % 1500}_${'x'.repeat(k * 3)}(int)`);
      if (i % 5 === 0) frames.push(`héllo_€_${i % 40}`, `😀_${i % 3}`);
      if (i % 11 === 0) frames.splice(1, 0, '');
      lines.push(`${frames.join(';')} ${1 + (i % 13)}${i % 17 === 0 ? '.5' : ''}`);
    }
    const text = `# header\n\n${lines.join('\n')}\r\n  ${lines.slice(0, 50).reverse().join('\n')}`;
    const expected = renderFlamegraph(text);
    for (const size of [1, 3, 7, 4096, 1 << 20]) expect(renderBytes(text, size)).toBe(expected);
    expect(renderBytes(text, 5, { reverse: true })).toBe(renderFlamegraph(text, { reverse: true }));
  });

  it('strips a UTF-8 byte order mark at the start only, and mixes with text chunks', () => {
    const text = 'a;b 1\na;c 2\n';
    const bom = new Uint8Array([0xef, 0xbb, 0xbf]);
    const builder = new FrameTreeBuilder();
    builder.write(bom.subarray(0, 2));
    builder.write(new Uint8Array([...bom.subarray(2), ...encoder.encode('a;b 1\na;')]));
    builder.write('c 2\n');
    expect(renderFrameTree(builder.end())).toBe(renderFlamegraph(text));
  });

  it('reports malformed byte lines with their line number', async () => {
    const stream = async function* () {
      yield encoder.encode('a;b 1\n# c\na;');
      yield encoder.encode('c x\n');
    };
    await expect(buildFrameTreeFromStream(stream())).rejects.toThrow(/line 3: sample count is not a number in "a;c x"/);
  });
});

describe('renderFlamegraphChunks (the CLI reading stdin piece by piece)', () => {
  const folded = ['main;parse;lex 40', 'main;parse;tokenize 25', 'main;run;loop;step 120', 'main;run;gc 15', '# a comment', 'main;run;loop;io 30', 'main;é;ü 3', ''].join('\n');
  const bytes = Buffer.from(folded);
  const whole = renderFlamegraph(bytes, { title: 'chunks' });

  it('draws the same document whatever the chunk boundaries, mid-line and mid-character included', () => {
    for (const size of [1, 2, 3, 7, 64, bytes.length]) {
      // One buffer reused for every chunk, as the CLI does: nothing of an earlier chunk may be kept by reference.
      const buf = Buffer.alloc(size);
      const chunks = function* () {
        for (let at = 0; at < bytes.length; at += size) {
          const n = bytes.copy(buf, 0, at, Math.min(at + size, bytes.length));
          yield buf.subarray(0, n);
        }
      };
      expect(renderFlamegraphChunks(chunks(), { title: 'chunks' }), `chunks of ${size}`).toBe(whole);
    }
  });

  it('draws the same document when told the input size, however wrong the guess', () => {
    for (const guess of [1, bytes.length, 1e9]) {
      expect(renderFlamegraphChunks([bytes], { title: 'chunks' }, { bytes: guess })).toBe(whole);
    }
  });

  it('sizes the tree from the expected bytes up front, so it does not regrow', () => {
    const hinted = new FrameTreeBuilder({ expectedBytes: 64 * 100_000 });
    expect(hinted.tree.keys.length).toBeGreaterThanOrEqual(2 * 100_000);
    expect(new FrameTreeBuilder().tree.keys.length).toBeLessThan(2 * 100_000);
  });
});
