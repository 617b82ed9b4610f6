import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { Resvg } from '@resvg/resvg-js';
import { describe, expect, it, vi } from 'vitest';
import { foldSamples } from '../../bpf/bpftrace/profile/parser.ts';
import { serializeFolded } from '../../src/flamegraph/folded.ts';
import { pngWidth, renderFlamegraphPng, staticFlamegraphSvg } from '../../src/flamegraph/png.ts';
import { renderFlamegraph } from '../../src/flamegraph/svg.ts';
import { assertWellFormed, byName, frames, type Frame } from '../helpers/xml.ts';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

// A real profile: bpftrace output recorded on a node running the CPU burner and dd (see bpf/bpftrace/profile/fixtures).
const recorded = readFileSync(new URL('../../bpf/bpftrace/profile/fixtures/node-wide.json', import.meta.url), 'utf8');
const SVG = renderFlamegraph(serializeFolded(foldSamples(recorded)), { title: 'CPU profile', subtitle: '566 samples at 99 Hz' });
const SVG_HEIGHT = Number(/<svg [^>]*height="(\d+)"/.exec(SVG)![1]);

interface Image {
  width: number;
  height: number;
  /** RGBA, row after row. */
  rgba: Buffer;
}

/** Decodes the 8-bit RGBA, non-interlaced PNGs resvg writes (any other kind fails the test). */
function decodePng(png: Buffer): Image {
  expect(png.subarray(0, 8)).toEqual(SIGNATURE);
  let at = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  while (at < png.length) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect([...data.subarray(8, 13)]).toEqual([8, 6, 0, 0, 0]); // depth 8, RGBA, deflate, filter 0, no interlace
    } else if (type === 'IDAT') {
      idat.push(data);
    }
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * 4;
  const rgba = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= 4 ? rgba[y * stride + i - 4]! : 0;
      const b = y > 0 ? rgba[(y - 1) * stride + i]! : 0;
      const c = i >= 4 && y > 0 ? rgba[(y - 1) * stride + i - 4]! : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a);
      const pb = Math.abs(p - b);
      const pc = Math.abs(p - c);
      const predictor = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][filter];
      if (predictor === undefined) throw new Error(`PNG filter ${filter}`);
      rgba[y * stride + i] = (line[i]! + predictor) & 0xff;
    }
  }
  return { width, height, rgba };
}

const pixel = (img: Image, x: number, y: number): [number, number, number] => {
  const i = (y * img.width + x) * 4;
  return [img.rgba[i]!, img.rgba[i + 1]!, img.rgba[i + 2]!];
};
const isDark = ([r, g, b]: [number, number, number]) => 0.299 * r + 0.587 * g + 0.114 * b < 90;

/** Dark (text) pixels in the whole-pixel area from x1 to x2, y1 to y2 of an image drawn at the SVG's scale. */
function darkPixels(img: Image, x1: number, x2: number, y1: number, y2: number): number {
  let n = 0;
  for (let y = Math.ceil(y1); y < Math.floor(y2); y++) {
    for (let x = Math.ceil(x1); x < Math.floor(x2); x++) if (isDark(pixel(img, x, y))) n++;
  }
  return n;
}
const darkInFrame = (img: Image, f: Frame) => darkPixels(img, f.x, f.x + f.width, f.y, f.y + 15);

describe('renderFlamegraphPng on a recorded profile', () => {
  const png = renderFlamegraphPng(SVG);
  const img = decodePng(png);

  it('writes a PNG as wide as asked, with the SVG aspect ratio', () => {
    expect(png.subarray(0, 8)).toEqual(SIGNATURE);
    expect(png.toString('latin1', 12, 16)).toBe('IHDR');
    expect(png.readUInt32BE(16)).toBe(1200);
    expect(png.readUInt32BE(20)).toBe(SVG_HEIGHT);
    const half = renderFlamegraphPng(SVG, { width: 600 });
    expect(half.readUInt32BE(16)).toBe(600);
    expect(Math.abs(half.readUInt32BE(20) - SVG_HEIGHT / 2)).toBeLessThanOrEqual(1);
    expect(SVG_HEIGHT).toBeGreaterThan(200); // 13 rows of frames under a title: not a strip
  });

  it('paints every frame at least 3 px wide in its own colour', () => {
    const colours = new Set<string>();
    for (let i = 0; i < img.rgba.length; i += 4) colours.add(`rgb(${img.rgba[i]},${img.rgba[i + 1]},${img.rgba[i + 2]})`);
    const wide = frames(SVG).filter((f) => f.width >= 3);
    expect(new Set(wide.map((f) => f.fill)).size).toBeGreaterThan(20);
    expect(wide.filter((f) => !colours.has(f.fill)).map((f) => f.name)).toEqual([]);
    // And the middle of a frame is its fill: the frames are where the SVG puts them.
    for (const name of ['crunch_alpha', 'dd', 'main', 'work']) {
      const f = byName(SVG).get(name)!;
      expect(`rgb(${pixel(img, Math.round(f.x + f.width - 2), Math.round(f.y + 2)).join(',')})`).toBe(f.fill);
    }
  });

  it('draws the labels as dark text inside their frames, and no controls', () => {
    const f = byName(SVG);
    for (const name of ['crunch_alpha', 'crunch_beta', 'main', 'dd', 'burn', 'work', 'fstatat']) {
      expect(f.get(name)!.label).toBe(name);
      expect(darkInFrame(img, f.get(name)!), name).toBeGreaterThan(20);
    }
    // The title is drawn; the Search and ic buttons (faint, top right) are not: the background there is only its
    // vertical gradient, each row one colour.
    expect(darkPixels(img, 500, 700, 5, 30)).toBeGreaterThan(50);
    const unlike: string[] = [];
    for (let y = 0; y < 40; y++) {
      const background = pixel(img, 1199, y).join(',');
      for (let x = 1000; x < 1200; x++) if (pixel(img, x, y).join(',') !== background) unlike.push(`${x},${y}`);
    }
    expect(unlike).toEqual([]);
  });

  it('gives the same bytes for the same SVG', () => {
    expect(renderFlamegraphPng(SVG).equals(png)).toBe(true);
  });

  it('clamps the width to 200..4000 px and rounds it', () => {
    expect(renderFlamegraphPng(SVG, { width: 50 }).readUInt32BE(16)).toBe(200);
    expect(renderFlamegraphPng(SVG, { width: 10_000 }).readUInt32BE(16)).toBe(4000);
    expect(pngWidth()).toBe(1200);
    expect(pngWidth(799.6)).toBe(800);
    expect(pngWidth(-1)).toBe(200);
    expect(() => pngWidth(Number.NaN)).toThrow(RangeError);
    expect(() => renderFlamegraphPng(SVG, { width: Number.POSITIVE_INFINITY })).toThrow(/finite/);
  });
});

describe('staticFlamegraphSvg', () => {
  // p (10 samples) has one child with a wide-glyph name; q (90) has none, so the row right of that child is empty.
  const WIDE = 'W'.repeat(30);
  const svg = renderFlamegraph(`app;p;${WIDE} 10\napp;q 90\n`);
  const still = staticFlamegraphSvg(svg);
  const wide = byName(svg).get(WIDE)!;

  it('is still well-formed SVG without script, tooltips, controls or groups', () => {
    assertWellFormed(still);
    expect(still).not.toMatch(/<script|<title>|id="(search|ignorecase|unzoom|details|matched)"|<g>/);
    expect(still).toContain('<g id="frames">');
    expect(staticFlamegraphSvg(still)).toBe(still);
  });

  it('keeps short labels as they are and clips one that may overflow to its frame', () => {
    expect(still).toContain(`<rect x="10" y="68" width="1180" height="15" fill="${byName(svg).get('app')!.fill}" rx="2" ry="2"/><text x="13" y="79.7">app</text>`);
    expect(wide.label).toBe(`${'W'.repeat(14)}..`);
    expect(still).toContain(
      `<svg x="10" y="36" width="118" height="15"><text x="3.00" y="11.70">${wide.label}</text></svg>`,
    );
  });

  it('keeps the label from painting past its frame', () => {
    const rightOfFrame = (image: Image) => darkPixels(image, wide.x + wide.width + 1, wide.x + wide.width + 60, wide.y, wide.y + 15);
    expect(darkInFrame(decodePng(renderFlamegraphPng(svg)), wide)).toBeGreaterThan(50);
    expect(rightOfFrame(decodePng(renderFlamegraphPng(svg)))).toBe(0);
    // Drawn as the SVG stands, the Ws run on past the frame: what the clipping is for.
    const raw = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render();
    expect(rightOfFrame({ width: raw.width, height: raw.height, rgba: raw.pixels })).toBeGreaterThan(20);
  });

  it('drops the rounded corners of frames too narrow to show them', () => {
    const narrow = staticFlamegraphSvg(renderFlamegraph('a 1\nb 999\n', { minWidth: 0 }));
    expect(narrow).toMatch(/<rect x="10" y="\d+" width="1\.18" height="15" fill="[^"]+"\/>\n/);
    expect(narrow).toMatch(/<rect x="11\.18" y="\d+" width="1178\.82" height="15" fill="[^"]+" rx="2" ry="2"\/><text/);
  });
});

describe("a profile's files when the PNG cannot be rendered", () => {
  it('still makes the SVG and every other file; the thumbnail is left out and reported', async () => {
    vi.resetModules();
    vi.doMock('../../src/flamegraph/png.ts', () => ({
      renderFlamegraphPng: () => {
        throw new Error('no resvg build for this platform');
      },
    }));
    try {
      const { parseProfile } = await import('../../bpf/bpftrace/profile/parser.ts');
      const { flamegraphThumbnails, profileArtifacts } = await import('../../src/flamegraph/artifacts.ts');
      const { result, stacks } = parseProfile(recorded, 99);
      const files = profileArtifacts(stacks);
      expect(files.map((a) => a.file)).toEqual(['stacks.folded', 'flamegraph.svg', 'profile.speedscope.json', 'profile.pb.gz']);
      expect(result.artifacts).toEqual(files.map((a) => a.file));
      expect(String(files[1]!.body)).toContain('crunch_alpha');
      const failed: string[] = [];
      expect(flamegraphThumbnails(files, (err, file) => failed.push(`${file}: ${(err as Error).message}`))).toEqual([]);
      expect(failed).toEqual(['flamegraph.svg: no resvg build for this platform']);
    } finally {
      vi.doUnmock('../../src/flamegraph/png.ts');
      vi.resetModules();
    }
  });
});
