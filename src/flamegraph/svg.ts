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
import type { FlamegraphOptions } from './options.ts';
import { frameColor, type PaletteName } from './palette.ts';
import {
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
import { buildFrameTree, FrameTreeBuilder, type FrameTree } from './tree.ts';
import { formatMicros } from './units.ts';

export { escapeXml, fitLabel } from './svg-parts.ts';
export { FoldedInputError } from './tree.ts';

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

/**
 * The same from a stream of byte chunks that may split lines anywhere (a file read piece by piece): the input is
 * never held whole, and a chunk's buffer may be reused once this has moved on to the next. `input.bytes`, when known,
 * sizes the tree up front.
 */
export function renderFlamegraphChunks(chunks: Iterable<Uint8Array>, options: FlamegraphOptions = {}, input: { bytes?: number } = {}): string {
  const builder = new FrameTreeBuilder({ reverse: options.reverse === true, ...(input.bytes ? { expectedBytes: input.bytes } : {}) });
  for (const chunk of chunks) builder.write(chunk);
  return renderFrameTree(builder.end(), options);
}

interface Resolved extends ResolvedBase {
  colors: PaletteName;
  kernelColor: boolean;
  unit: 'us' | undefined;
}

function resolve(options: FlamegraphOptions): Resolved {
  return {
    ...resolveBase(options, { flame: 'Flame Graph', icicle: 'Icicle Graph' }),
    colors: options.colors ?? 'hot',
    kernelColor: options.kernelColor ?? true,
    unit: options.unit,
  };
}

const COMMENT = 'Flame graph: tracehound src/flamegraph/svg.ts';

/** Renders an already built frame tree (see FrameTreeBuilder for streaming input). */
export function renderFrameTree(tree: FrameTree, options: FlamegraphOptions = {}): string {
  const r = resolve(options);
  const total = tree.totalSamples;
  if (!(total > 0)) return emptyGraph(r, COMMENT, 'ERROR: No stack counts found');

  const { names, keys } = tree;
  const totals = tree.total;
  const layout = layoutFrames(tree, r.width, r.minWidth);
  const { kept, dropped } = layout;

  const fh = r.frameHeight;
  const fontSize = r.fontSize;
  const hasSubtitle = r.subtitle !== '' || dropped > 0;
  const padTop = fontSize * 3 + (hasSubtitle ? fontSize * 1.5 : 0);
  const padBottom = fontSize * 2 + 10;
  const height = Math.ceil(padTop + (layout.maxDepth + 1) * fh + padBottom);
  const rowY = (depth: number) => (r.inverted ? padTop + depth * fh : height - padBottom - (depth + 1) * fh);
  const textDy = (fh - 1) / 2 + fontSize * 0.35;

  const escaped: (string | undefined)[] = new Array<string | undefined>(names.length);
  const colors: (string | undefined)[] = new Array<string | undefined>(names.length);
  const countName = escapeXml(r.countName);
  // Time (off-CPU) is told as a duration; counts as before, so a sampled profile's SVG does not change.
  const amount = r.unit === 'us' ? formatMicros : (t: number) => `${formatCount(t)} ${countName}`;
  const pctScale = 100 / total;
  const rectTail = `" height="${fh - 1}" fill="`;

  const parts: string[] = [];
  parts.push(header(r.width, height, fontSize, COMMENT));
  const minLabel = minWidthLabel(r);
  parts.push(droppedComment(layout, minLabel));
  parts.push(titleText(r));
  const subY = fontSize * 3.5;
  if (r.subtitle !== '') {
    parts.push(`<text id="subtitle" x="${r.width / 2}" y="${subY}">${escapeXml(r.subtitle)}</text>\n`);
  }
  parts.push(droppedNote(r, subY, dropped, minLabel));
  parts.push(controls(r, height));

  const { node: outNode, depth: outDepth, x1: outX1, x2: outX2 } = layout;
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
      `<g><title>${esc} (${amount(t)}, ${(t * pctScale).toFixed(2)}%)</title>` +
        `<rect x="${px(x1)}" y="${y}" width="${px(x2 - x1)}${rectTail}${color}" rx="2" ry="2"/>` +
        `<text x="${px(x1 + 300)}" y="${(y + textDy).toFixed(1)}">` +
        `${label === '' ? '' : label.length === name.length ? esc : escapeXml(label)}</text></g>\n`,
    );
  }
  parts.push(footer(r));
  return parts.join('');
}
