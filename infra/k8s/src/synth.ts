/**
 * `npm run synth:k8s`: writes the manifests to infra/k8s/base/ (or the folder given), replacing what was there, so a
 * chart renamed or removed leaves no file behind. test/drift.test.ts fails while the committed base/ differs.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { manifests } from './app.ts';

export const BASE_DIR = fileURLToPath(new URL('../base/', import.meta.url));

export function writeManifests(dir: string): string[] {
  const files = manifests();
  mkdirSync(dir, { recursive: true });
  for (const stale of readdirSync(dir)) if (stale.endsWith('.yaml') && !files.has(stale)) rmSync(join(dir, stale));
  for (const [name, text] of files) writeFileSync(join(dir, name), text);
  return [...files.keys()];
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = resolve(process.argv[2] ?? BASE_DIR);
  const started = performance.now();
  const written = writeManifests(dir);
  console.log(`wrote ${written.length} files to ${dir} in ${Math.round(performance.now() - started)} ms`);
}
