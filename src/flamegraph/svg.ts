/**
 * Flame graph renderer: folded stacks → a self-contained interactive SVG (zoom, regex search, tooltips).
 *
 * Layout: the synthetic root "all" spans the drawing width (width − 2·padding); children are laid out left to right
 * in name order (code-unit order, locale-independent) starting at their parent's left edge, each as wide as its
 * share of samples. Edges are computed from cumulative sample counts (x = padding + cumulative × scale) and rounded
 * to 1/100 px once per edge, so adjacent siblings share an edge exactly: no gaps, no overlaps. Frames narrower
 * than `minWidth` are dropped with everything above them (a child is never wider than its parent); how many is
 * written in a comment and, when non-zero, in a note under the title.
 *
 * Output is a pure function of (the multiset of stacks, options): the same input in any line order gives the same
 * bytes.
 */
import { frameColor, type PaletteName } from './palette.ts';
import { CONFIG_PLACEHOLDER, FLAMEGRAPH_SCRIPT } from './script.ts';
import { buildFrameTree, FrameTreeBuilder, type FrameTree } from './tree.ts';

export { FoldedInputError } from './tree.ts';

export interface FlamegraphOptions {
  title?: string;
  subtitle?: string;
  /** Image width in px; default 1200. */
  width?: number;
  /** Row height in px; default 16. */
  frameHeight?: number;
  /** Frames narrower than this are dropped and counted: px (default 0.1) or a percentage of all samples ("0.5%"). */
  minWidth?: number | `${number}%`;
  colors?: PaletteName;
  /** Icicle graph: root at the top. */
  inverted?: boolean;
  /** Merge from the leaf: reverse each stack before merging. */
  reverse?: boolean;
  /** Default "samples". */
  countName?: string;
  /** Prefix of the details line; default "Function:". */
  nameType?: string;
  /** Frames ending in "_[k]" drawn in a distinct colour family; default true. */
  kernelColor?: boolean;
}

const XPAD = 10;
const FONT_WIDTH = 0.59; // average glyph width / font size, for Verdana-like fonts
const FONT_FAMILY = 'Verdana, DejaVu Sans, sans-serif';

/** Renders folded stacks (a whole text, or an iterable of lines) as SVG text. */
export function renderFlamegraph(folded: string | Uint8Array | Iterable<string>, options: FlamegraphOptions = {}): string {
  const reverse = options.reverse === true;
  if (folded instanceof Uint8Array) {
    // Bytes take the builder's fast path: parsed as UTF-8 in place, no decoded copy of the input.
    const builder = new FrameTreeBuilder({ reverse });
    builder.write(folded);
    return renderFrameTree(builder.end(), options);
  }
  return renderFrameTree(buildFrameTree(folded, { reverse }), options);
}

interface Resolved {
  width: number;
  frameHeight: number;
  fontSize: number;
  title: string;
  subtitle: string;
  colors: PaletteName;
  inverted: boolean;
  countName: string;
  nameType: string;
  kernelColor: boolean;
  minWidth: number | `${number}%`;
}

function resolve(options: FlamegraphOptions): Resolved {
  const width = options.width ?? 1200;
  const frameHeight = options.frameHeight ?? 16;
  if (!Number.isFinite(width) || width <= 2 * XPAD) throw new RangeError(`width must be more than ${2 * XPAD} px`);
  if (!Number.isFinite(frameHeight) || frameHeight < 2) throw new RangeError('frameHeight must be at least 2 px');
  const minWidth = options.minWidth ?? 0.1;
  const minValue = typeof minWidth === 'number' ? minWidth : Number(minWidth.slice(0, -1));
  if (!Number.isFinite(minValue) || minValue < 0 || (typeof minWidth === 'string' && !minWidth.endsWith('%'))) {
    throw new RangeError(`minWidth must be a non-negative number of px or a percentage, got ${String(minWidth)}`);
  }
  const inverted = options.inverted === true;
  return {
    width,
    frameHeight,
    fontSize: Math.max(1, Math.min(12, frameHeight - 4)),
    title: options.title ?? (inverted ? 'Icicle Graph' : 'Flame Graph'),
    subtitle: options.subtitle ?? '',
    colors: options.colors ?? 'hot',
    inverted,
    countName: options.countName ?? 'samples',
    nameType: options.nameType ?? 'Function:',
    kernelColor: options.kernelColor ?? true,
    minWidth,
  };
}

// Chars XML 1.0 does not allow (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF) and the five to escape.
// eslint-disable-next-line no-control-regex -- matching the control chars XML forbids is the point
const NEEDS_WORK = /[&<>"'\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff\ufffe\uffff]/u;
// eslint-disable-next-line no-control-regex -- idem
const INVALID_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff\ufffe\uffff]/gu;
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Text safe inside an XML element or attribute value: the five specials escaped, invalid chars replaced by U+FFFD. */
export function escapeXml(text: string): string {
  if (!NEEDS_WORK.test(text)) return text;
  return text.replace(INVALID_XML, '\ufffd').replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** A JSON value safe inside a CDATA script: no "<", ">" or "&" at all (so never "]]>"), no XML-invalid chars. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(INVALID_XML, '\ufffd')
    .replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Text for inside an XML comment, which must not contain "--" (nor end with "-"). */
function commentSafe(text: string): string {
  return escapeXml(text).replace(/-+/g, '-').replace(/-$/, '- ');
}

function px(hundredths: number): string {
  return String(hundredths / 100);
}

function formatCount(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Math.round(n * 100) / 100);
}

/** Label shown inside a frame `widthPx` wide: the name, cut to fit with "..", or nothing below 3 chars. */
export function fitLabel(name: string, widthPx: number, fontSize = 12): string {
  const fit = Math.floor((widthPx - 3) / (fontSize * FONT_WIDTH));
  if (fit < 3) return '';
  return name.length <= fit ? name : `${name.slice(0, fit - 2)}..`;
}

const STYLE = `
text { font-family: ${FONT_FAMILY}; fill: rgb(0,0,0); }
#title { text-anchor: middle; }
#subtitle { text-anchor: middle; fill: rgb(110,110,110); }
#dropped { text-anchor: end; fill: rgb(110,110,110); }
#matched { text-anchor: end; }
#search, #ignorecase { opacity: 0.1; cursor: pointer; }
#search:hover, #search.show, #ignorecase:hover, #ignorecase.show { opacity: 1; }
#unzoom { cursor: pointer; }
#frames > g { cursor: pointer; }
#frames > g:hover > rect { stroke: rgb(0,0,0); stroke-width: 0.5; }
#frames text { pointer-events: none; }
.hide { display: none; }
.parent { opacity: 0.5; }
`;

function header(width: number, height: number, fontSize: number): string {
  return (
    '<?xml version="1.0" standalone="no"?>\n' +
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n' +
    `<svg version="1.1" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" font-size="${fontSize}">\n` +
    '<!-- Flame graph: tracehound src/flamegraph/svg.ts -->\n' +
    '<defs><linearGradient id="background" y1="0" y2="1" x1="0" x2="0">' +
    '<stop stop-color="#eeeeee" offset="5%"/><stop stop-color="#eeeeb0" offset="95%"/></linearGradient></defs>\n' +
    `<style type="text/css"><![CDATA[${STYLE}]]></style>\n` +
    `<rect x="0" y="0" width="${width}" height="${height}" fill="url(#background)"/>\n`
  );
}

function emptyGraph(r: Resolved): string {
  const height = 120;
  return (
    header(r.width, height, r.fontSize) +
    `<text id="title" x="${r.width / 2}" y="${r.fontSize * 2}" font-size="${r.fontSize + 5}">${escapeXml(r.title)}</text>\n` +
    `<text x="${r.width / 2}" y="${height / 2 + 10}" text-anchor="middle" font-size="${r.fontSize + 5}">` +
    'ERROR: No stack counts found</text>\n</svg>\n'
  );
}

/** Renders an already built frame tree (see FrameTreeBuilder for streaming input). */
export function renderFrameTree(tree: FrameTree, options: FlamegraphOptions = {}): string {
  const r = resolve(options);
  const total = tree.totalSamples;
  if (!(total > 0)) return emptyGraph(r);

  const { names, keys } = tree;
  const totals = tree.total;
  const size = tree.size;
  const inner = r.width - 2 * XPAD;
  const scale = inner / total;
  const minSamples =
    typeof r.minWidth === 'number' ? r.minWidth / scale : (Number(r.minWidth.slice(0, -1)) / 100) * total;

  // A frame is kept iff it is at least minSamples wide: a child is never wider than its parent, so the kept set is
  // closed under "parent of". Children of kept frames (kept or not: dropped ones still take their share of the row)
  // go into one CSR array, offsets indexed by parent.
  const offsets = new Int32Array(size + 1);
  for (let n = 1; n < size; n++) {
    const parent = keys[2 * n]!;
    if (totals[parent]! >= minSamples) offsets[parent + 1]!++;
  }
  for (let n = 0; n < size; n++) offsets[n + 1]! += offsets[n]!;
  const childList = new Int32Array(offsets[size]!);
  const fill = offsets.slice(0, size);
  for (let n = 1; n < size; n++) {
    const parent = keys[2 * n]!;
    if (totals[parent]! >= minSamples) childList[fill[parent]!++] = n;
  }

  // Pass 1: walk kept frames depth-first, children in name order, recording (node, depth, left, right) with edges
  // in 1/100 px. Dropped siblings still take their share of the row, so kept frames stay where they belong.
  let cap = 1024;
  let outNode = new Int32Array(cap);
  let outDepth = new Int32Array(cap);
  let outX1 = new Float64Array(cap);
  let outX2 = new Float64Array(cap);
  let kept = 0;
  let maxDepth = 0;
  const stackNode: number[] = [0];
  const stackDepth: number[] = [0];
  const stackStart: number[] = [0];
  const edge = (samples: number) => Math.round((XPAD + samples * scale) * 100);
  const byName = (a: number, b: number) => {
    const na = names[keys[2 * a + 1]!]!;
    const nb = names[keys[2 * b + 1]!]!;
    return na < nb ? -1 : na > nb ? 1 : 0;
  };
  const children: number[] = [];
  while (stackNode.length > 0) {
    const node = stackNode.pop()!;
    const depth = stackDepth.pop()!;
    const start = stackStart.pop()!;
    if (kept === cap) {
      cap *= 2;
      const n1 = new Int32Array(cap);
      n1.set(outNode);
      outNode = n1;
      const d1 = new Int32Array(cap);
      d1.set(outDepth);
      outDepth = d1;
      const a1 = new Float64Array(cap);
      a1.set(outX1);
      outX1 = a1;
      const b1 = new Float64Array(cap);
      b1.set(outX2);
      outX2 = b1;
    }
    outNode[kept] = node;
    outDepth[kept] = depth;
    outX1[kept] = edge(start);
    outX2[kept] = edge(start + totals[node]!);
    kept++;
    if (depth > maxDepth) maxDepth = depth;

    children.length = 0;
    let anyKept = false;
    for (let i = offsets[node]!, end = offsets[node + 1]!; i < end; i++) {
      const c = childList[i]!;
      children.push(c);
      if (totals[c]! >= minSamples) anyKept = true;
    }
    if (!anyKept) continue;
    if (children.length > 1) children.sort(byName);
    // Push in reverse so frames come out left to right.
    let cumulative = start;
    const firstPushed = stackNode.length;
    for (const c of children) {
      const t = totals[c]!;
      if (t >= minSamples) {
        stackNode.push(c);
        stackDepth.push(depth + 1);
        stackStart.push(cumulative);
      }
      cumulative += t;
    }
    reverseTail(stackNode, firstPushed);
    reverseTail(stackDepth, firstPushed);
    reverseTail(stackStart, firstPushed);
  }
  const dropped = size - kept;

  // Pass 2: text.
  const fh = r.frameHeight;
  const fontSize = r.fontSize;
  const hasSubtitle = r.subtitle !== '' || dropped > 0;
  const padTop = fontSize * 3 + (hasSubtitle ? fontSize * 1.5 : 0);
  const padBottom = fontSize * 2 + 10;
  const height = Math.ceil(padTop + (maxDepth + 1) * fh + padBottom);
  const rowY = (depth: number) => (r.inverted ? padTop + depth * fh : height - padBottom - (depth + 1) * fh);
  const textDy = (fh - 1) / 2 + fontSize * 0.35;

  const escaped: (string | undefined)[] = new Array<string | undefined>(names.length);
  const colors: (string | undefined)[] = new Array<string | undefined>(names.length);
  const countName = escapeXml(r.countName);
  const pctScale = 100 / total;
  const rectTail = `" height="${fh - 1}" fill="`;

  const parts: string[] = [];
  parts.push(header(r.width, height, fontSize));
  const minLabel =
    typeof r.minWidth === 'number' ? `${r.minWidth} px` : `${Number(r.minWidth.slice(0, -1))}% of ${r.countName}`;
  parts.push(`<!-- ${kept} frames drawn, ${dropped} dropped (narrower than ${commentSafe(minLabel)}) -->\n`);
  parts.push(
    `<text id="title" x="${r.width / 2}" y="${fontSize * 2}" font-size="${fontSize + 5}">${escapeXml(r.title)}</text>\n`,
  );
  const subY = fontSize * 3.5;
  if (r.subtitle !== '') {
    parts.push(`<text id="subtitle" x="${r.width / 2}" y="${subY}">${escapeXml(r.subtitle)}</text>\n`);
  }
  if (dropped > 0) {
    parts.push(
      `<text id="dropped" x="${r.width - XPAD}" y="${subY}" data-dropped="${dropped}">` +
        `${dropped} frame${dropped === 1 ? '' : 's'} narrower than ${escapeXml(minLabel)} omitted</text>\n`,
    );
  }
  parts.push(
    `<text id="unzoom" class="hide" x="${XPAD}" y="${fontSize * 2}">Reset Zoom</text>\n` +
      `<text id="search" x="${r.width - XPAD - 100}" y="${fontSize * 2}">Search</text>\n` +
      `<text id="ignorecase" x="${r.width - XPAD - 16}" y="${fontSize * 2}">ic</text>\n` +
      `<text id="details" x="${XPAD}" y="${height - fontSize - 5}"> </text>\n` +
      `<text id="matched" x="${r.width - XPAD}" y="${height - fontSize - 5}"> </text>\n` +
      '<g id="frames">\n',
  );

  for (let i = 0; i < kept; i++) {
    const node = outNode[i]!;
    const x1 = outX1[i]!;
    const x2 = outX2[i]!;
    const y = rowY(outDepth[i]!);
    const id = keys[2 * node + 1]!;
    let name: string;
    let esc: string;
    let color: string;
    if (id < 0) {
      name = 'all';
      esc = 'all';
      color = 'rgb(250,250,200)';
    } else {
      name = names[id]!;
      esc = escaped[id] ??= escapeXml(name);
      color = colors[id] ??= frameColor(name, r.colors, r.kernelColor);
    }
    const t = totals[node]!;
    const w = (x2 - x1) / 100;
    const label = fitLabel(name, w, fontSize);
    parts.push(
      `<g><title>${esc} (${formatCount(t)} ${countName}, ${(t * pctScale).toFixed(2)}%)</title>` +
        `<rect x="${px(x1)}" y="${y}" width="${px(x2 - x1)}${rectTail}${color}" rx="2" ry="2"/>` +
        `<text x="${px(x1 + 300)}" y="${(y + textDy).toFixed(1)}">` +
        `${label === '' ? '' : label.length === name.length ? esc : escapeXml(label)}</text></g>\n`,
    );
  }
  parts.push('</g>\n');
  const config = {
    width: r.width,
    xpad: XPAD,
    fontSize,
    fontWidth: FONT_WIDTH,
    inverted: r.inverted,
    nameType: r.nameType,
  };
  parts.push(
    `<script type="text/ecmascript"><![CDATA[\n${FLAMEGRAPH_SCRIPT.replace(CONFIG_PLACEHOLDER, () => scriptJson(config))}]]></script>\n`,
  );
  parts.push('</svg>\n');
  return parts.join('');
}

function reverseTail(a: number[], from: number): void {
  for (let i = from, j = a.length - 1; i < j; i++, j--) {
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
}

