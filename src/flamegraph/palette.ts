/**
 * Frame colours. A colour is a pure function of (palette, frame name): the name is hashed (FNV-1a, then a
 * finalizer so every bit of the name moves every channel) and the hash picks a position inside a colour family,
 * one range per RGB channel. Same name → same colour in every graph; no randomness.
 *
 * Palettes:
 * - hot: classic flame graph (red → orange → yellow).   mem: greens.   io: blues.
 * - red, green, blue, aqua, yellow, purple, orange: one family each.
 * - wakeup: aqua (wakeup stacks).   chain: blue, "--" separators grey, waker frames (suffix "_[w]") aqua.
 * - offcpu: off-CPU time, all blues as in Brendan Gregg's off-CPU graphs: user frames io blue, kernel frames
 *   ("_[k]") a paler lavender blue, so the two stay apart without a warm colour suggesting CPU.
 * - java: "_[k]" kernel → orange, "_[j]" JIT-compiled → green, "_[i]" interpreted → aqua, "_[i]"-less frames
 *   with a package separator ("/" as in "java/util/HashMap.get", or "Lcom/..." descriptors) → green (Java code),
 *   "::" → yellow (C++: the JVM itself), everything else → red (native C / libraries).
 * - js: "_[k]" kernel → orange, "_[j]" or a "*"-prefixed (optimized) name → green, "_[i]" or a "~"-prefixed
 *   (interpreted) name → aqua, names naming a script (".js", ".mjs", ".ts" or a "file:"/"node:" URL) → green,
 *   "::" → yellow (V8/node C++), everything else → red (native).
 *
 * Kernel frames ("_[k]" suffix) get a family of their own when `kernelColor` is on (the default): orange for the
 * cool palettes, steel blue for the warm ones (hot, red, orange, yellow), where orange would not stand out.
 */

export const PALETTE_NAMES = [
  'hot',
  'mem',
  'io',
  'java',
  'js',
  'wakeup',
  'chain',
  'offcpu',
  'aqua',
  'green',
  'blue',
  'red',
  'yellow',
  'purple',
  'orange',
] as const;
export type PaletteName = (typeof PALETTE_NAMES)[number];

type Range = readonly [number, number];
interface Family {
  r: Range;
  g: Range;
  b: Range;
}

/** Colour families: the inclusive range of each channel. */
export const FAMILIES = {
  hot: { r: [205, 255], g: [0, 230], b: [0, 55] },
  mem: { r: [0, 60], g: [160, 250], b: [0, 70] },
  io: { r: [80, 150], g: [80, 150], b: [190, 250] },
  red: { r: [200, 255], g: [50, 110], b: [50, 110] },
  green: { r: [50, 110], g: [190, 250], b: [50, 110] },
  blue: { r: [80, 130], g: [80, 140], b: [205, 255] },
  aqua: { r: [50, 110], g: [165, 215], b: [165, 215] },
  yellow: { r: [175, 230], g: [175, 230], b: [50, 110] },
  purple: { r: [190, 250], g: [80, 140], b: [190, 250] },
  orange: { r: [190, 250], g: [90, 160], b: [0, 55] },
  kernel: { r: [190, 250], g: [90, 160], b: [0, 55] },
  kernelCool: { r: [100, 150], g: [140, 190], b: [200, 250] },
  grey: { r: [150, 170], g: [150, 170], b: [150, 170] },
  kernelOffCpu: { r: [160, 200], g: [165, 205], b: [235, 255] },
} as const satisfies Record<string, Family>;
export type FamilyName = keyof typeof FAMILIES;

const WARM = new Set<PaletteName>(['hot', 'red', 'orange', 'yellow']);

function suffix(name: string): string {
  // "_[k]", "_[j]", "_[i]", "_[w]" annotations as written by perf/stackcollapse.
  const n = name.length;
  return n >= 4 && name.charCodeAt(n - 4) === 95 && name.charCodeAt(n - 3) === 91 && name.charCodeAt(n - 1) === 93
    ? name[n - 2]!
    : '';
}

export function isKernelFrame(name: string): boolean {
  return suffix(name) === 'k';
}

/** The colour family a frame is drawn from under a palette. */
export function frameFamily(name: string, palette: PaletteName = 'hot', kernelColor = true): FamilyName {
  const tag = suffix(name);
  if (name === '-' || name === '--') return 'grey';
  switch (palette) {
    case 'java':
      if (tag === 'k') return 'kernel';
      if (tag === 'j') return 'green';
      if (tag === 'i') return 'aqua';
      if (name.includes('/') || /^L[\w$]+\//.test(name)) return 'green';
      if (name.includes('::')) return 'yellow';
      return 'red';
    case 'js':
      if (tag === 'k') return 'kernel';
      if (tag === 'j' || name.startsWith('*')) return 'green';
      if (tag === 'i' || name.startsWith('~')) return 'aqua';
      if (/\.(?:m?js|cjs|ts|mts|cts)\b|\b(?:file|node):/.test(name)) return 'green';
      if (name.includes('::')) return 'yellow';
      return 'red';
    default:
      break;
  }
  if (kernelColor && tag === 'k') return palette === 'offcpu' ? 'kernelOffCpu' : WARM.has(palette) ? 'kernelCool' : 'kernel';
  switch (palette) {
    case 'hot':
      return 'hot';
    case 'mem':
      return 'mem';
    case 'io':
    case 'offcpu':
      return 'io';
    case 'wakeup':
      return 'aqua';
    case 'chain':
      return tag === 'w' ? 'aqua' : 'blue';
    default:
      return palette;
  }
}

/** 32-bit hash of a name (FNV-1a over UTF-16 code units with a murmur-style finalizer). */
export function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function channel([lo, hi]: Range, bits: number): number {
  return lo + Math.round(((hi - lo) * bits) / 1023);
}

/** `rgb(r,g,b)` for a frame: stable per (palette, name). */
export function frameColor(name: string, palette: PaletteName = 'hot', kernelColor = true): string {
  const family: Family = FAMILIES[frameFamily(name, palette, kernelColor)];
  const h = nameHash(name);
  return `rgb(${channel(family.r, h & 1023)},${channel(family.g, (h >>> 10) & 1023)},${channel(family.b, (h >>> 20) & 1023)})`;
}
