import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The project's own code, the folders the one-home tests read as text: every room that can hold a rule or a key
 * (entry/ too: the composition roots open queues and build parts).
 */
export const SOURCE_FOLDERS = ['src', 'workers', 'bpf', 'entry', 'bin'] as const;

function walk(dir: string, name: RegExp): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : walk(path, name);
    return name.test(e.name) ? [path] : [];
  });
}

/** Every file under SOURCE_FOLDERS whose name matches, by its path from the repository root ("src/core/ids.ts"). */
export function readSourceFiles(name: RegExp): Map<string, string> {
  return new Map(
    SOURCE_FOLDERS.flatMap((d) => walk(join(ROOT, d), name)).map((path) => [relative(ROOT, path).split(sep).join('/'), readFileSync(path, 'utf8')]),
  );
}
