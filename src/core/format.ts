const int = new Intl.NumberFormat('en-US');

/** 1234567 → "1,234,567": counts in headlines are read by people in a hurry. */
export const formatCount = (n: number) => int.format(n);

export const formatShare = (share: number) => `${(share * 100).toFixed(share >= 0.1 ? 0 : 1)}%`;

export const plural = (n: number, one: string, many = `${one}s`) => `${formatCount(n)} ${n === 1 ? one : many}`;

/** 1536 → "1.5 KiB", 70000000 → "67 MiB": binary units, as sizes are configured ("64MiB"). */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(n >= 100 ? 0 : 1)} ${units[i]}`;
}

/**
 * A path or word as one shell word in a command we suggest to a reader: left bare when it is plainly safe,
 * single-quoted otherwise. Suggestions only: tracehound never runs these.
 */
export const shellWord = (s: string) => (/^[\w./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
