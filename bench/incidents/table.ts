import type { BenchReport, IncidentResult } from './result.ts';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const secs = (n: number | null) => (n === null ? '–' : n.toFixed(1));

export function verdict(r: IncidentResult): string {
  return r.pass ? 'pass' : `fail (${r.failure}): ${r.failed.join('; ')}`;
}

/** Nearest-rank percentile of the values (null when there are none). */
export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

/** The results as a markdown table, with the totals under it. */
export function markdown(report: BenchReport): string {
  const rows = report.results.map((r) =>
    `| ${r.incident} | ${cell(r.playbook ?? '–')} | ${cell(r.headline ?? '–')} | ${cell(verdict(r))} | ${secs(r.seconds)} | ${r.agentCpuSeconds === null ? '–' : r.agentCpuSeconds.toFixed(2)} |`,
  );
  return [
    '| incident | routed playbook | headline | result | request → summary (s) | agent CPU (s) |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `Passed ${report.passed} of ${report.total} (${(report.passRate * 100).toFixed(0)}%); request → summary P50 ${secs(report.p50Seconds)} s, ` +
      `P95 ${secs(report.p95Seconds)} s over the incidents that reached a summary; agent CPU per run ${report.meanAgentCpuSeconds === null ? '–' : report.meanAgentCpuSeconds.toFixed(2)} s on average (${report.cpuSource}).`,
    `Kernel ${report.host.kernel}, ${report.host.cpus} CPUs, run ${report.startedAt}.`,
  ].join('\n');
}
