import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The programs incidents run, each under its own name: the kernel names a process after its executable, so the comm
 * in a capture says which part of an incident a row is about (and a rubric can ask for it by name).
 */
export const PROGRAM_NAMES = [
  'th-connector', 'th-listener', 'th-sink', 'th-sender', // test/helpers/incidents/programs/th-net.c, by role
  'th-fdhog', 'th-memhog', 'th-burner',
  'th-filler', 'th-reader', // copies of dd
  'th-spawner', 'th-spinner', // copies of sh
] as const;
export type ProgramName = (typeof PROGRAM_NAMES)[number];

export interface Programs {
  path(name: ProgramName): string;
  remove(): void;
}

const source = (file: string) => fileURLToPath(new URL(file, import.meta.url));

/** Compiles and copies every program into one temporary directory (gcc is needed, as for the CPU burner). */
export function buildPrograms(): Programs {
  const dir = mkdtempSync(join(tmpdir(), 'th-incident-bin-'));
  const at = (name: ProgramName) => join(dir, name);
  try {
    const cc = (src: string, name: ProgramName, flags: string[] = ['-O1']) => execFileSync('gcc', [...flags, '-o', at(name), src]);
    for (const role of ['th-connector', 'th-listener', 'th-sink', 'th-sender'] as const) cc(source('./programs/th-net.c'), role);
    cc(source('./programs/th-fdhog.c'), 'th-fdhog');
    cc(source('./programs/th-memhog.c'), 'th-memhog');
    // As test/helpers/kernel.ts compileBurner does: frame pointers and -O0 keep crunch_alpha's frame on the stacks.
    cc(source('../../fixtures/burner.c'), 'th-burner', ['-O0', '-g', '-fno-omit-frame-pointer']);
    for (const [name, from] of [['th-filler', '/usr/bin/dd'], ['th-reader', '/usr/bin/dd'], ['th-spawner', '/bin/sh'], ['th-spinner', '/bin/sh']] as const) {
      copyFileSync(from, at(name));
      chmodSync(at(name), 0o755);
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return { path: at, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
