/**
 * What the flame graph renderers (svg.ts, diff.ts) share, so both write the same document: option checks and
 * defaults, the frame layout, XML text helpers and the fixed parts of the SVG (header, style, title, controls,
 * script). See svg.ts for the layout rules.
 */
import { CONFIG_PLACEHOLDER, FLAMEGRAPH_SCRIPT } from './script.ts';
import type { FlamegraphOptions } from './options.ts';
import type { FrameTree } from './tree.ts';

export const XPAD = 10;
export const FONT_WIDTH = 0.59; // average glyph width / font size, for Verdana-like fonts; the script re-fits with it
const FONT_FAMILY = 'Verdana, DejaVu Sans, sans-serif';

/** The options both renderers resolve the same way. */
export interface ResolvedBase {
  width: number;
  frameHeight: number;
  fontSize: number;
  title: string;
  subtitle: string;
  inverted: boolean;
  countName: string;
  nameType: string;
  minWidth: number | `${number}%`;
}

/** Checks the shared options and fills in their defaults; `titles` are the default titles of the two orientations. */
export function resolveBase(options: FlamegraphOptions, titles: { flame: string; icicle: string }): ResolvedBase {
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
    title: options.title ?? (inverted ? titles.icicle : titles.flame),
    subtitle: options.subtitle ?? '',
    inverted,
    countName: options.countName ?? 'samples',
    nameType: options.nameType ?? 'Function:',
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
export function commentSafe(text: string): string {
  return escapeXml(text).replace(/-+/g, '-').replace(/-$/, '- ');
}

/** An edge or width in 1/100 px, as written in an attribute. */
export function px(hundredths: number): string {
  return String(hundredths / 100);
}

export function formatCount(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Math.round(n * 100) / 100);
}

/** Label shown inside a frame `widthPx` wide: the name, cut to fit with "..", or nothing below 3 chars. */
export function fitLabel(name: string, widthPx: number, fontSize = 12): string {
  const fit = Math.floor((widthPx - 3) / (fontSize * FONT_WIDTH));
  if (fit < 3) return '';
  return name.length <= fit ? name : `${name.slice(0, fit - 2)}..`;
}

/** The frames drawn: the first `kept` nodes of the tree in document order, with their rows and edges. */
export interface FrameLayout {
  /** Node ids, depth-first, children in name order. */
  node: Int32Array;
  depth: Int32Array;
  /** Left and right edges in 1/100 px. */
  x1: Float64Array;
  x2: Float64Array;
  kept: number;
  /** Nodes not drawn (narrower than minWidth, or above such a frame). */
  dropped: number;
  maxDepth: number;
}

/**
 * Lays out the frames of `tree` across `width` px (see svg.ts): children in name order from their parent's left
 * edge, edges from cumulative counts rounded to 1/100 px once, frames narrower than `minWidth` dropped with
 * everything above them.
 */
export function layoutFrames(tree: FrameTree, width: number, minWidth: number | `${number}%`): FrameLayout {
  const { names, keys } = tree;
  const total = tree.totalSamples;
  const totals = tree.total;
  const size = tree.size;
  const inner = width - 2 * XPAD;
  const scale = inner / total;
  const minSamples = typeof minWidth === 'number' ? minWidth / scale : (Number(minWidth.slice(0, -1)) / 100) * total;

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

  // Walk kept frames depth-first, children in name order, recording (node, depth, left, right) with edges in
  // 1/100 px. Dropped siblings still take their share of the row, so kept frames stay where they belong.
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
  return {
    node: outNode.subarray(0, kept),
    depth: outDepth.subarray(0, kept),
    x1: outX1.subarray(0, kept),
    x2: outX2.subarray(0, kept),
    kept,
    dropped: size - kept,
    maxDepth,
  };
}

function reverseTail(a: number[], from: number): void {
  for (let i = from, j = a.length - 1; i < j; i++, j--) {
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
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

/** Prolog, root element, `comment` (which renderer), background and style. */
export function header(width: number, height: number, fontSize: number, comment: string): string {
  return (
    '<?xml version="1.0" standalone="no"?>\n' +
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n' +
    `<svg version="1.1" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" font-size="${fontSize}">\n` +
    `<!-- ${comment} -->\n` +
    '<defs><linearGradient id="background" y1="0" y2="1" x1="0" x2="0">' +
    '<stop stop-color="#eeeeee" offset="5%"/><stop stop-color="#eeeeb0" offset="95%"/></linearGradient></defs>\n' +
    `<style type="text/css"><![CDATA[${STYLE}]]></style>\n` +
    `<rect x="0" y="0" width="${width}" height="${height}" fill="url(#background)"/>\n`
  );
}

export function titleText(r: ResolvedBase): string {
  return `<text id="title" x="${r.width / 2}" y="${r.fontSize * 2}" font-size="${r.fontSize + 5}">${escapeXml(r.title)}</text>\n`;
}

/** The whole document when there is nothing to draw: title and `message` (already escaped). */
export function emptyGraph(r: ResolvedBase, comment: string, message: string): string {
  const height = 120;
  return (
    header(r.width, height, r.fontSize, comment) +
    titleText(r) +
    `<text x="${r.width / 2}" y="${height / 2 + 10}" text-anchor="middle" font-size="${r.fontSize + 5}">` +
    `${message}</text>\n</svg>\n`
  );
}

/** How minWidth is described in the comment and the note (not escaped). */
export function minWidthLabel(r: ResolvedBase): string {
  return typeof r.minWidth === 'number' ? `${r.minWidth} px` : `${Number(r.minWidth.slice(0, -1))}% of ${r.countName}`;
}

export function droppedComment(layout: FrameLayout, minLabel: string): string {
  return `<!-- ${layout.kept} frames drawn, ${layout.dropped} dropped (narrower than ${commentSafe(minLabel)}) -->\n`;
}

/** The note on the subtitle row saying how many frames were dropped; empty when none were. */
export function droppedNote(r: ResolvedBase, y: number, dropped: number, minLabel: string): string {
  if (dropped === 0) return '';
  return (
    `<text id="dropped" x="${r.width - XPAD}" y="${y}" data-dropped="${dropped}">` +
    `${dropped} frame${dropped === 1 ? '' : 's'} narrower than ${escapeXml(minLabel)} omitted</text>\n`
  );
}

/** Zoom reset, search, details and match count, then the opening of the frames group. */
export function controls(r: ResolvedBase, height: number): string {
  const fontSize = r.fontSize;
  return (
    `<text id="unzoom" class="hide" x="${XPAD}" y="${fontSize * 2}">Reset Zoom</text>\n` +
    `<text id="search" x="${r.width - XPAD - 100}" y="${fontSize * 2}">Search</text>\n` +
    `<text id="ignorecase" x="${r.width - XPAD - 16}" y="${fontSize * 2}">ic</text>\n` +
    `<text id="details" x="${XPAD}" y="${height - fontSize - 5}"> </text>\n` +
    `<text id="matched" x="${r.width - XPAD}" y="${height - fontSize - 5}"> </text>\n` +
    '<g id="frames">\n'
  );
}

/** Closes the frames group, adds the interactive script and closes the document. */
export function footer(r: ResolvedBase): string {
  const config = {
    width: r.width,
    xpad: XPAD,
    fontSize: r.fontSize,
    fontWidth: FONT_WIDTH,
    inverted: r.inverted,
    nameType: r.nameType,
  };
  return (
    '</g>\n' +
    `<script type="text/ecmascript"><![CDATA[\n${FLAMEGRAPH_SCRIPT.replace(CONFIG_PLACEHOLDER, () => scriptJson(config))}]]></script>\n` +
    '</svg>\n'
  );
}
