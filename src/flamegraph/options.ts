/**
 * A flame graph's options, in a file of their own: svg.ts renders with them and svg-parts.ts resolves them, and
 * svg.ts imports svg-parts.ts, so the type cannot live in either without an import cycle.
 */
import type { PaletteName } from './palette.ts';

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
  /**
   * What the counts measure: absent, a number of `countName`; 'us', time in microseconds (an off-CPU profile), told
   * in tooltips as a duration ("20.1 ms") instead of a count.
   */
  unit?: 'us';
  /** Prefix of the details line; default "Function:". */
  nameType?: string;
  /** Frames ending in "_[k]" drawn in a distinct colour family; default true. */
  kernelColor?: boolean;
}
