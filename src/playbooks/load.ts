import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tools } from '../../bpf/index.ts';
import { compilePlaybook, PlaybookError } from './compile.ts';
import type { Playbook, ToolCatalogue } from './playbook.ts';
import { documentKey, readPrebuiltDocuments, type PrebuiltDocuments } from './prebuilt-documents.ts';

export const DEFAULT_PLAYBOOK_DIR = fileURLToPath(new URL('../../playbooks/', import.meta.url));

/** What the compiler needs of each tool in bpf/: requirements, parameter schema, duration limits. */
export function toolCatalogue(): ToolCatalogue {
  return Object.fromEntries(Object.values(tools).map((t) => [t.name, { requires: t.requires, variants: t.variants, params: t.params, limits: t.limits }]));
}

/**
 * Every `*.yaml` playbook in a folder, compiled and validated. One bad file stops start-up with all problems of
 * all files (file and path for each), rather than running with a playbook missing.
 */
export async function loadPlaybooks(dir = DEFAULT_PLAYBOOK_DIR, catalogue = toolCatalogue(), prebuilt?: PrebuiltDocuments): Promise<Playbook[]> {
  const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  // The build's parsed documents serve the built code only: sources run under test always parse their YAML.
  const documents = prebuilt ?? (globalThis.TRACEHOUND_BUILT === true ? await readPrebuiltDocuments() : new Map<string, unknown>());
  const playbooks: Playbook[] = [];
  const errors: PlaybookError[] = [];
  for (const f of files) {
    try {
      const text = await readFile(join(dir, f), 'utf8');
      const key = documents.size > 0 ? documentKey(text) : '';
      playbooks.push(compilePlaybook(text, join(dir, f), catalogue, documents.has(key) ? { document: documents.get(key) } : undefined));
    } catch (err) {
      if (!(err instanceof PlaybookError)) throw err;
      errors.push(err);
    }
  }
  const seen = new Map<string, string>();
  for (const p of playbooks) {
    const other = seen.get(p.name);
    if (other) errors.push(new PlaybookError(p.source, [{ path: 'name', message: `"${p.name}" is also the name of ${other}` }]));
    seen.set(p.name, p.source);
  }
  if (errors.length) throw new AggregatePlaybookError(errors);
  return playbooks;
}

export class AggregatePlaybookError extends Error {
  constructor(readonly errors: PlaybookError[]) {
    super(`invalid playbooks:\n${errors.map((e) => `  ${e.message}`).join('\n')}`);
  }
}
