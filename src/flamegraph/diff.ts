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
 * Same document structure, element ids, escaping, layout and script as svg.ts (both are built from svg-parts.ts),
 * so zoom, search and URL state work the same. Output is a pure function of (the two multisets of stacks, options).
 * A malformed line throws a DiffInputError (a FoldedInputError) whose message starts with "before: " or "after: ".
 */
import type { FlamegraphOptions } from './options.ts';
import {
  commentSafe,
  controls,
  droppedComment,
  droppedNote,
  emptyGraph,
  escapeXml,
  fitLabel,
  footer,
  formatCount,
  header,
  layoutFrames,
  minWidthLabel,
  px,
  resolveBase,
  titleText,
  type ResolvedBase,
} from './svg-parts.ts';
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

/** Channel value of the faintest change: Gregg's 210, so the smallest delta is still visibly tinted. */
const PALE = 210;

/** The fill for a frame whose self samples changed by `delta`, the largest change drawn being `maxDelta` (≥ 0). */
export function diffColor(delta: number, maxDelta: number): string {
  if (delta === 0 || !(maxDelta > 0)) return 'rgb(255,255,255)';
  const v = Math.round((PALE * (maxDelta - Math.min(Math.abs(delta), maxDelta))) / maxDelta);
  return delta > 0 ? `rgb(255,${v},${v})` : `rgb(${v},${v},255)`;
}

interface Resolved extends ResolvedBase {
  normalize: boolean;
  beforeLabel: string;
  afterLabel: string;
}

function resolve(options: DiffFlamegraphOptions): Resolved {
  return {
    ...resolveBase(options, { flame: 'Differential Flame Graph', icicle: 'Differential Icicle Graph' }),
    normalize: options.normalize === true,
    beforeLabel: options.beforeLabel ?? 'before',
    afterLabel: options.afterLabel ?? 'after',
  };
}

/** "+3", "-1.5" or "0" (a change that rounds to 0 at 2 decimals is written as 0). */
function signed(text: string): string {
  if (/^-?0(?:\.0*)?$/.test(text)) return text.replace('-', '');
  return text.startsWith('-') ? text : `+${text}`;
}

const COMMENT = 'Differential flame graph: tracehound src/flamegraph/diff.ts';

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

  if (!(total > 0)) return emptyGraph(r, COMMENT, `ERROR: No stack counts found in ${escapeXml(r.afterLabel)}`);

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

  // Layout exactly as svg.ts: the same frames, edges and order.
  const totals = treeA.total;
  const layout = layoutFrames(treeA, r.width, r.minWidth);
  const { node: outNode, depth: outDepth, x1: outX1, x2: outX2, kept, dropped } = layout;

  let maxDelta = 0;
  for (const n of outNode) maxDelta = Math.max(maxDelta, Math.abs(delta[n]!));

  // Text.
  const fh = r.frameHeight;
  const fontSize = r.fontSize;
  const padTop = fontSize * 4.5; // title row, then the legend/subtitle row
  const padBottom = fontSize * 2 + 10;
  const height = Math.ceil(padTop + (layout.maxDepth + 1) * fh + padBottom);
  const rowY = (depth: number) => (r.inverted ? padTop + depth * fh : height - padBottom - (depth + 1) * fh);
  const textDy = (fh - 1) / 2 + fontSize * 0.35;
  const countName = escapeXml(r.countName);
  const pctScale = 100 / total;

  const parts: string[] = [header(r.width, height, fontSize, COMMENT)];
  const minLabel = minWidthLabel(r);
  parts.push(droppedComment(layout, minLabel));
  parts.push(
    `<!-- ${onlyBefore} frame${onlyBefore === 1 ? '' : 's'} only in ${commentSafe(r.beforeLabel)}, not drawn; ` +
      `largest self change ${formatCount(maxDelta)} ${commentSafe(r.countName)}` +
      `${scaled ? `; ${commentSafe(r.beforeLabel)} scaled by ${formatScale(scaleB)}` : ''} -->\n`,
  );
  parts.push(titleText(r));
  const legend =
    `red: more in ${r.afterLabel}, blue: fewer (self ${r.countName} vs ${r.beforeLabel}` +
    `${scaled ? `, ${r.beforeLabel} scaled ×${formatScale(scaleB)} to the same total` : ''})`;
  const subY = fontSize * 3.5;
  parts.push(
    `<text id="subtitle" x="${r.width / 2}" y="${subY}">` +
      `${r.subtitle === '' ? '' : `${escapeXml(r.subtitle)} — `}${escapeXml(legend)}</text>\n`,
  );
  parts.push(droppedNote(r, subY, dropped, minLabel));
  parts.push(controls(r, height));

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
  parts.push(footer(r));
  return parts.join('');
}

/** The normalization factor, to 4 significant digits ("0.5", "1.333"). */
function formatScale(k: number): string {
  return String(Number(k.toPrecision(4)));
}
