/**
 * A PNG picture of a flame graph, for places that show only bitmaps (Slack, e-mail): the SVG of svg.ts or diff.ts
 * rasterised by resvg.
 *
 * resvg draws no script, so the picture is the graph as first opened: every frame with its colour and the label
 * svg.ts fitted to it. It applies the document's <style> (fonts, centred title, grey subtitle, `.hide`) and ignores
 * the `:hover` rules. Before rasterising, `staticFlamegraphSvg` makes the document a still picture:
 * - the script, the tooltips (<title>) and the controls (Search, ic, Reset Zoom, the details and match lines) go:
 *   a button in a picture is noise, and the rest is work resvg would parse for nothing;
 * - a label that may be wider than its frame is clipped to it. svg.ts fits labels with an average glyph width;
 *   wide glyphs (W, M, capitals) can run past the frame into the next one, which a browser shows the same way but
 *   which makes a thumbnail hard to read.
 *
 * Text uses the system's fonts (the SVG asks for Verdana, then DejaVu Sans, then any sans-serif; DejaVu Sans is
 * the fallback when none of those is found). On a machine with no fonts at all resvg draws no text: the frames,
 * their colours and the layout are still there.
 */
import { createRequire } from 'node:module';
import type * as Resvg from '@resvg/resvg-js';

export const PNG_DEFAULT_WIDTH = 1200;
export const PNG_MIN_WIDTH = 200;
export const PNG_MAX_WIDTH = 4000;
const DEFAULT_FONT_FAMILY = 'DejaVu Sans';
/** Hardly any glyph of a Latin font is wider than its em: a label this wide at most stays in its frame unclipped. */
const MAX_GLYPH_EM = 1;

export interface FlamegraphPngOptions {
  /** Image width in px (height follows the SVG's aspect ratio); default 1200, clamped to 200..4000. */
  width?: number;
}

/** The requested width as resvg gets it: a whole number of px within 200..4000. */
export function pngWidth(width: number = PNG_DEFAULT_WIDTH): number {
  if (!Number.isFinite(width)) throw new RangeError(`PNG width must be a finite number of px, got ${width}`);
  return Math.min(PNG_MAX_WIDTH, Math.max(PNG_MIN_WIDTH, Math.round(width)));
}

// resvg is a native addon: loaded on first use, so a machine without a build for its platform fails here, where
// the caller can do without the picture, and not when the module graph loads.
let resvg: typeof Resvg | undefined;
function loadResvg(): typeof Resvg {
  resvg ??= createRequire(import.meta.url)('@resvg/resvg-js') as typeof Resvg;
  return resvg;
}

/** Rasterises a flame graph SVG (from renderFlamegraph or renderDiffFlamegraph) to PNG bytes. */
export function renderFlamegraphPng(svg: string, opts: FlamegraphPngOptions = {}): Buffer {
  const { Resvg: Renderer } = loadResvg();
  const renderer = new Renderer(staticFlamegraphSvg(svg), {
    fitTo: { mode: 'width', value: pngWidth(opts.width) },
    font: { loadSystemFonts: true, defaultFontFamily: DEFAULT_FONT_FAMILY, sansSerifFamily: DEFAULT_FONT_FAMILY },
    logLevel: 'off',
  });
  return renderer.render().asPng();
}

// One pass over the document (a large profile's SVG is tens of MB) matching the script, a control, or a frame:
// one line as svg.ts and diff.ts write it, a group of tooltip, rect and label. Only a frame has capture groups.
const STILL = new RegExp(
  [
    /<script\b[\s\S]*?<\/script>\n?/.source,
    /<text id="(?:unzoom|search|ignorecase|details|matched)"[^>]*>[^<]*<\/text>\n?/.source,
    /^<g>(?:<title>[^<]*<\/title>)?<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"([^>]*)\/>/.source +
      /<text x="([\d.]+)" y="([\d.]+)">([^<]*)<\/text><\/g>$/.source,
  ].join('|'),
  'gm',
);
const CORNERS = / r[xy]="[^"]*"/g;
const ROOT_FONT_SIZE = /<svg\b[^>]*\sfont-size="([\d.]+)"/;
/** Below this width (px) a rounded corner cannot be seen, but still turns a rect into a curved path. */
const ROUND_MIN_WIDTH = 4;

/**
 * The flame graph as a still picture (see the top of this file): no script, tooltips or controls; each frame a bare
 * rect and, when it has one, its label; a label that could overflow its frame wrapped in a nested <svg> the size
 * of the frame, which clips it. Groups, empty labels and the rounded corners of frames too narrow to show them
 * go too: a large profile has tens of thousands of sub-pixel frames, and each element costs resvg time and memory
 * (half the time on a 20,000-stack profile) without a visible change.
 * Lines that do not look like svg.ts output pass through unchanged.
 */
export function staticFlamegraphSvg(svg: string): string {
  const fontSize = Number(ROOT_FONT_SIZE.exec(svg)?.[1] ?? 12);
  return svg.replace(STILL, (_match: string, ...groups: (string | undefined)[]) => {
    const [x, y, w, h, rest, tx, ty, label] = groups;
    if (label === undefined) return '';
    const width = Number(w);
    const rect = `<rect x="${x}" y="${y}" width="${w}" height="${h}"${width < ROUND_MIN_WIDTH ? rest!.replace(CORNERS, '') : rest}/>`;
    if (label === '') return rect;
    const inset = Number(tx) - Number(x);
    // The escaped label is at least as long as the text, so this errs towards clipping.
    if (label.length * fontSize * MAX_GLYPH_EM <= width - inset) return `${rect}<text x="${tx}" y="${ty}">${label}</text>`;
    return (
      `${rect}<svg x="${x}" y="${y}" width="${w}" height="${h}">` +
      `<text x="${inset.toFixed(2)}" y="${(Number(ty) - Number(y)).toFixed(2)}">${label}</text></svg>`
    );
  });
}
