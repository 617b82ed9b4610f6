import { readFileSync } from 'node:fs';

/** The commands `tracehound` takes, read from entry/cli.ts's USAGE line (`usage: tracehound [start|api|…]`). */
export function cliCommands(): string[] {
  const source = readFileSync(new URL('../../entry/cli.ts', import.meta.url), 'utf8');
  const m = /usage: tracehound \[([^\]]+)\]/.exec(source);
  if (!m) throw new Error('entry/cli.ts: no "usage: tracehound [...]" line to read the commands from');
  return m[1]!.split('|');
}
