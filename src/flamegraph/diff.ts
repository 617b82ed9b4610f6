/**
 * Differential flame graph (Brendan Gregg's red/blue differential flame graphs, written from scratch): two folded
 * profiles, `before` and `after`, drawn as one graph.
 *
 * - Layout, widths and the set of frames come from `after`, exactly as renderFlamegraph(after) would draw them
 *   (same edges, same order, same minWidth pruning). Frames that exist only in `before` are not drawn; how many
 *   there are is written in a comment.
 * - A frame is a path from the root ("all;app;main;foo"), as in the tree: the same function under another parent is
 *   another frame. Its delta is the change of its SELF samples (samples where it is the leaf), after − before, as
 *   in Gregg's flamegraph.pl: a caller whose callees got slower stays neutral, the callees themselves are coloured.
 * - Colour: delta > 0 (more in after) → red, delta < 0 (fewer) → blue, 0 → white. Intensity is linear in
 *   |delta| / max |delta| over the frames drawn: the largest change is pure rgb(255,0,0) / rgb(0,0,255), a tiny one
 *   almost white (rgb(255,209,209)). The palette options (`colors`, `kernelColor`) do not apply.
 * - `normalize`: `before` counts are scaled by total(after) / total(before) first, so a longer or shorter capture
 *   with the same shape comes out neutral. Without it raw counts are compared. An empty `before` is not scaled.
 * - Tooltips: `name (N samples, P%; +D samples, +X%)` where N and P are the frame's total samples in `after` and
 *   its share of all `after` samples (as in the normal graph), D the self-sample delta (with "+", "-" or nothing for
 *   zero) and X = D as a percentage of all `after` samples (flamegraph.pl's convention: defined for new frames
 *   too, and comparable across frames). The interactive script reads the name up to the last " (", which is
 *   unaffected.
 * - A legend line under the title says which colour means what (and the normalization factor when used).
 *
 * Same document structure, element ids, escaping and script as svg.ts, so zoom, search and URL state work the
 * same. Output is a pure function of (the two multisets of stacks, options). A malformed line throws a
 * DiffInputError (a FoldedInputError) whose message starts with "before: " or "after: ".
 */
import { CONFIG_PLACEHOLDER, FLAMEGRAPH_SCRIPT } from './script.ts';
import { escapeXml, fitLabel, type FlamegraphOptions } from './svg.ts';
import { buildFrameTree, FoldedInputError, type FrameTree } from './tree.ts';

export interface DiffFlamegraphOptions extends FlamegraphOptions {
  /** Scale `before` to the total of `after` before computing deltas; default false. */
  normalize?: boolean;
  /** How the legend names the first profile; default "before". */
  beforeLabel?: string;
  /** How the legend names the second profile; default "after". */
  afterLabel?: string;
}

/** A malformed line in one of the two inputs; `input` says which, and the message starts with it. */
export class DiffInputError extends FoldedInputError {
  readonly input: 'before' | 'after';
  constructor(input: 'before' | 'after', cause: FoldedInputError) {
    super(cause.line, '');
    this.name = 'FoldedInputError';
    this.input = input;
    this.message = `${input}: ${cause.message}`;
    this.cause = cause;
  }
}

const XPAD = 10;
const FONT_WIDTH = 0.59; // as svg.ts: the script re-fits labels with the same constant
const FONT_FAMILY = 'Verdana, DejaVu Sans, sans-serif';
/** Channel value of the faintest change: Gregg's 210, so the smallest delta is still visibly tinted. */
const PALE = 210;

/** The fill for a frame whose self samples changed by `delta`, the largest change drawn being `maxDelta` (≥ 0). */
export function diffColor(delta: number, maxDelta: number): string {
  if (delta === 0 || !(maxDelta > 0)) return 'rgb(255,255,255)';
  const v = Math.round((PALE * (maxDelta - Math.min(Math.abs(delta), maxDelta))) / maxDelta);
  return delta > 0 ? `rgb(255,${v},${v})` : `rgb(${v},${v},255)`;
}

interface Resolved {
  width: number;
  frameHeight: number;
  fontSize: number;
  title: string;
  subtitle: string;
  inverted: boolean;
  countName: string;
  nameType: string;
  minWidth: number | `${number}%`;
  normalize: boolean;
  beforeLabel: string;
  afterLabel: string;
}

// Same validation and defaults as svg.ts (whose resolver is private).
function resolve(options: DiffFlamegraphOptions): Resolved {
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
    title: options.title ?? (inverted ? 'Differential Icicle Graph' : 'Differential Flame Graph'),
    subtitle: options.subtitle ?? '',
    inverted,
    countName: options.countName ?? 'samples',
    nameType: options.nameType ?? 'Function:',
    minWidth,
    normalize: options.normalize === true,
    beforeLabel: options.beforeLabel ?? 'before',
    afterLabel: options.afterLabel ?? 'after',
  };
}

// eslint-disable-next-line no-control-regex -- the chars XML 1.0 forbids, as in svg.ts
const INVALID_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff\ufffe\uffff]/gu;

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

/** "+3", "-1.5" or "0" (a change that rounds to 0 at 2 decimals is written as 0). */
function signed(text: string): string {
  if (/^-?0(?:\.0*)?$/.test(text)) return text.replace('-', '');
  return text.startsWith('-') ? text : `+${text}`;
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
    '<!-- Differential flame graph: tracehound src/flamegraph/diff.ts -->\n' +
    '<defs><linearGradient id="background" y1="0" y2="1" x1="0" x2="0">' +
    '<stop stop-color="#eeeeee" offset="5%"/><stop stop-color="#eeeeb0" offset="95%"/></linearGradient></defs>\n' +
    `<style type="text/css"><![CDATA[${STYLE}]]></style>\n` +
    `<rect x="0" y="0" width="${width}" height="${height}" fill="url(#background)"/>\n`
  );
}

function parse(input: 'before' | 'after', folded: string, reverse: boolean): FrameTree {
  try {
    return buildFrameTree(folded, { reverse });
  } catch (err) {
    if (err instanceof FoldedInputError) throw new DiffInputError(input, err);
    throw err;
  }
}

/** Self samples per node: its total minus its children's totals (parents always precede children). */
function selfCounts(tree: FrameTree): Float64Array {
  const size = tree.size;
  const self = new Float64Array(size);
  for (let n = 0; n < size; n++) self[n] = tree.total[n]!;
  for (let n = 1; n < size; n++) self[tree.parentOf(n)]! -= tree.total[n]!;
  return self;
}

/**
 * Renders the differential flame graph of two folded profiles (whole texts): frames and widths from `after`,
 * colours from the change of each frame's self samples between `before` and `after` (see the module comment).
 */
export function renderDiffFlamegraph(before: string, after: string, options: DiffFlamegraphOptions = {}): string {
  const r = resolve(options);
  const reverse = options.reverse === true;
  const treeB = parse('before', before, reverse);
  const treeA = parse('after', after, reverse);
  const total = treeA.totalSamples;
  const totalB = treeB.totalSamples;

  if (!(total > 0)) {
    const height = 120;
    return (
      header(r.width, height, r.fontSize) +
      `<text id="title" x="${r.width / 2}" y="${r.fontSize * 2}" font-size="${r.fontSize + 5}">${escapeXml(r.title)}</text>\n` +
      `<text x="${r.width / 2}" y="${height / 2 + 10}" text-anchor="middle" font-size="${r.fontSize + 5}">` +
      `ERROR: No stack counts found in ${escapeXml(r.afterLabel)}</text>\n</svg>\n`
    );
  }

  // Match every `after` frame with the same path in `before` (-1: new). Parents precede children in both trees.
  const size = treeA.size;
  const sizeB = treeB.size;
  const byKey = new Map<string, number>();
  for (let n = 1; n < sizeB; n++) byKey.set(`${treeB.parentOf(n)};${treeB.nameOf(n)}`, n);
  const match = new Int32Array(size);
  const matchedB = new Uint8Array(sizeB);
  match[0] = 0;
  matchedB[0] = 1;
  const names: string[] = new Array<string>(size);
  names[0] = 'all';
  for (let n = 1; n < size; n++) {
    const name = treeA.nameOf(n);
    names[n] = name;
    const pb = match[treeA.parentOf(n)]!;
    const m = pb < 0 ? -1 : (byKey.get(`${pb};${name}`) ?? -1);
    match[n] = m;
    if (m >= 0) matchedB[m] = 1;
  }
  let onlyBefore = 0;
  for (let n = 0; n < sizeB; n++) if (matchedB[n] === 0) onlyBefore++;

  // Deltas of self samples; differences within float noise of the totals count as none.
  const scaled = r.normalize && totalB > 0;
  const scaleB = scaled ? total / totalB : 1;
  const selfA = selfCounts(treeA);
  const selfB = selfCounts(treeB);
  const eps = 1e-9 * Math.max(total, totalB * scaleB);
  const delta = new Float64Array(size);
  for (let n = 0; n < size; n++) {
    const m = match[n]!;
    // Multiplying first keeps exact results exact (3 × 10 / 30 is 1, 3 × (10 / 30) is not).
    const b = m < 0 ? 0 : scaled ? (selfB[m]! * total) / totalB : selfB[m]!;
    const d = selfA[n]! - b;
    delta[n] = Math.abs(d) <= eps ? 0 : d;
  }

  // Layout, exactly as svg.ts: children in name order (code-unit order) from the parent's left edge, edges from
  // cumulative counts rounded to 1/100 px once, frames narrower than minSamples dropped with everything above.
  const totals = treeA.total;
  const inner = r.width - 2 * XPAD;
  const scale = inner / total;
  const minSamples =
    typeof r.minWidth === 'number' ? r.minWidth / scale : (Number(r.minWidth.slice(0, -1)) / 100) * total;
  const children: number[][] = Array.from({ length: size }, () => []);
  for (let n = 1; n < size; n++) children[treeA.parentOf(n)]!.push(n);
  const byName = (a: number, b: number) => {
    const na = names[a]!;
    const nb = names[b]!;
    return na < nb ? -1 : na > nb ? 1 : 0;
  };
  const edge = (samples: number) => Math.round((XPAD + samples * scale) * 100);

  const outNode: number[] = [];
  const outDepth: number[] = [];
  const outX1: number[] = [];
  const outX2: number[] = [];
  let maxDepth = 0;
  const stack: [node: number, depth: number, start: number][] = [[0, 0, 0]];
  while (stack.length > 0) {
    const [node, depth, start] = stack.pop()!;
    outNode.push(node);
    outDepth.push(depth);
    outX1.push(edge(start));
    outX2.push(edge(start + totals[node]!));
    if (depth > maxDepth) maxDepth = depth;
    if (!(totals[node]! >= minSamples)) continue;
    const kids = children[node]!;
    if (kids.length > 1) kids.sort(byName);
    const pushed: [number, number, number][] = [];
    let cumulative = start;
    for (const c of kids) {
      const t = totals[c]!;
      if (t >= minSamples) pushed.push([c, depth + 1, cumulative]);
      cumulative += t;
    }
    for (let i = pushed.length - 1; i >= 0; i--) stack.push(pushed[i]!);
  }
  const kept = outNode.length;
  const dropped = size - kept;

  let maxDelta = 0;
  for (const n of outNode) maxDelta = Math.max(maxDelta, Math.abs(delta[n]!));

  // Text.
  const fh = r.frameHeight;
  const fontSize = r.fontSize;
  const padTop = fontSize * 4.5; // title row, then the legend/subtitle row
  const padBottom = fontSize * 2 + 10;
  const height = Math.ceil(padTop + (maxDepth + 1) * fh + padBottom);
  const rowY = (depth: number) => (r.inverted ? padTop + depth * fh : height - padBottom - (depth + 1) * fh);
  const textDy = (fh - 1) / 2 + fontSize * 0.35;
  const countName = escapeXml(r.countName);
  const pctScale = 100 / total;

  const parts: string[] = [header(r.width, height, fontSize)];
  const minLabel =
    typeof r.minWidth === 'number' ? `${r.minWidth} px` : `${Number(r.minWidth.slice(0, -1))}% of ${r.countName}`;
  parts.push(`<!-- ${kept} frames drawn, ${dropped} dropped (narrower than ${commentSafe(minLabel)}) -->\n`);
  parts.push(
    `<!-- ${onlyBefore} frame${onlyBefore === 1 ? '' : 's'} only in ${commentSafe(r.beforeLabel)}, not drawn; ` +
      `largest self change ${formatCount(maxDelta)} ${commentSafe(r.countName)}` +
      `${scaled ? `; ${commentSafe(r.beforeLabel)} scaled by ${formatScale(scaleB)}` : ''} -->\n`,
  );
  parts.push(
    `<text id="title" x="${r.width / 2}" y="${fontSize * 2}" font-size="${fontSize + 5}">${escapeXml(r.title)}</text>\n`,
  );
  const legend =
    `red: more in ${r.afterLabel}, blue: fewer (self ${r.countName} vs ${r.beforeLabel}` +
    `${scaled ? `, ${r.beforeLabel} scaled ×${formatScale(scaleB)} to the same total` : ''})`;
  const subY = fontSize * 3.5;
  parts.push(
    `<text id="subtitle" x="${r.width / 2}" y="${subY}">` +
      `${r.subtitle === '' ? '' : `${escapeXml(r.subtitle)} — `}${escapeXml(legend)}</text>\n`,
  );
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

  const rectTail = `" height="${fh - 1}" fill="`;
  for (let i = 0; i < kept; i++) {
    const node = outNode[i]!;
    const x1 = outX1[i]!;
    const x2 = outX2[i]!;
    const y = rowY(outDepth[i]!);
    const name = names[node]!;
    const esc = escapeXml(name);
    const t = totals[node]!;
    const d = delta[node]!;
    const label = fitLabel(name, (x2 - x1) / 100, fontSize);
    parts.push(
      `<g><title>${esc} (${formatCount(t)} ${countName}, ${(t * pctScale).toFixed(2)}%; ` +
        `${signed(formatCount(d))} ${countName}, ${signed((d * pctScale).toFixed(2))}%)</title>` +
        `<rect x="${px(x1)}" y="${y}" width="${px(x2 - x1)}${rectTail}${diffColor(d, maxDelta)}" rx="2" ry="2"/>` +
        `<text x="${px(x1 + 300)}" y="${(y + textDy).toFixed(1)}">${label === '' ? '' : escapeXml(label)}</text></g>\n`,
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

/** The normalization factor, to 4 significant digits ("0.5", "1.333"). */
function formatScale(k: number): string {
  return String(Number(k.toPrecision(4)));
}
