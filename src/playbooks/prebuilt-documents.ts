import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

/**
 * Playbook files compiled ahead of time: `npm run build` compiles every YAML file in playbooks/ with the code it just
 * built and writes the documents of those that compile to dist/playbook-documents.json, keyed by the SHA-256 of each
 * file's text (prebuild.ts; scripts/build.mjs). A process that just started would otherwise spend most of compiling
 * its playbooks in the YAML and CEL parsers, before the JIT has warmed up (a Lambda cold start, an API start).
 *
 * A document is used only for a file whose text has exactly that hash, so an edited, added or foreign playbook is
 * parsed and checked as before. For a document used, the schema, tools and wording are checked again (cheap), and its
 * CEL expressions are parsed when first evaluated: the build found they parse and type-check.
 */
export const PREBUILT_DOCUMENTS_FILE = new URL('../../dist/playbook-documents.json', import.meta.url);

const PrebuiltDocuments = z.object({ documents: z.record(z.string().regex(/^[0-9a-f]{64}$/), z.unknown()) });

export type PrebuiltDocuments = ReadonlyMap<string, unknown>;

/** The key of a file's text: the hex SHA-256 of its UTF-8 bytes, as the build computes it. */
export const documentKey = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** The documents the build wrote; none when there is no build (sources run as they are) or the file is unreadable. */
export async function readPrebuiltDocuments(file: URL | string = PREBUILT_DOCUMENTS_FILE): Promise<PrebuiltDocuments> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return new Map();
  }
  // A damaged file costs the speed-up, never a wrong playbook: every file is then parsed from its YAML.
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return new Map();
  }
  const parsed = PrebuiltDocuments.safeParse(json);
  return parsed.success ? new Map(Object.entries(parsed.data.documents)) : new Map();
}
