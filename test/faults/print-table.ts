import { readFileSync } from 'node:fs';
import { FAULT_RESULTS, formatTable, type FaultRow } from './fault-log.ts';

/**
 * Prints every row the fault suite recorded (TRACEHOUND_FAULT_RESULTS) as one Markdown table, the latest row per
 * fault: `npx tsx test/faults/print-table.ts` after `npx vitest run test/faults/`.
 */
const rows = readFileSync(FAULT_RESULTS, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as FaultRow);
const latest = new Map<string, FaultRow>();
for (const r of rows) latest.set(`${r.file}\u0000${r.fault}`, r);
console.log(formatTable([...latest.values()]));
