import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { compilePlaybookDocument, parsePlaybookText, PlaybookError } from './compile.ts';
import { toolCatalogue } from './load.ts';
import type { ToolCatalogue } from './playbook.ts';
import { documentKey } from './prebuilt-documents.ts';

export interface Prebuilt {
  /** Each document keyed by its file's text (documentKey): what dist/playbook-documents.json holds. */
  documents: Record<string, unknown>;
  /** Files left out and why: they are parsed and checked at start-up, where their problems stop it. */
  leftOut: { file: string; reason: string }[];
}

/**
 * What the build writes to dist/playbook-documents.json: the document of every playbook in `dir` that compiles
 * without a problem, with this build's tools and CEL declarations. A process finding a file with one of these texts
 * takes its document and leaves its expressions to be parsed when first used (compilePlaybook): nothing about it can
 * fail any more. Documents JSON cannot carry as they are (a YAML date, say) are left out too.
 */
export async function prebuildDocuments(dir: string, catalogue: ToolCatalogue = toolCatalogue()): Promise<Prebuilt> {
  const documents: Record<string, unknown> = {};
  const leftOut: Prebuilt['leftOut'] = [];
  for (const f of (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const file = join(dir, f);
    const text = await readFile(file, 'utf8');
    try {
      const document = parsePlaybookText(text, file);
      compilePlaybookDocument(document, file, catalogue);
      if (!isDeepStrictEqual(JSON.parse(JSON.stringify(document)), document)) {
        leftOut.push({ file, reason: 'holds values JSON cannot carry' });
        continue;
      }
      documents[documentKey(text)] = document;
    } catch (err) {
      if (!(err instanceof PlaybookError)) throw err;
      leftOut.push({ file, reason: err.message });
    }
  }
  return { documents, leftOut };
}
