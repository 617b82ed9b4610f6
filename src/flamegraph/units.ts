/** Durations in µs as people read them in a flame graph's tooltips and in findings: "850 µs", "20.1 ms", "1.93 s". */
export function formatMicros(us: number): string {
  if (us < 1000) return `${Math.round(us)} µs`;
  if (us < 1_000_000) return `${trim(us / 1000)} ms`;
  return `${trim(us / 1_000_000)} s`;
}

/** Three significant digits, no trailing zeros: 20.1, 1.93, 250. */
function trim(n: number): string {
  return String(Number(n.toPrecision(3)));
}
