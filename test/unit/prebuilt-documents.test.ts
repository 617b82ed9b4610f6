/**
 * The build's prebuilt playbook documents (src/playbooks/prebuilt-documents.ts): a document is taken only for a file
 * whose text hashes to its key, and a missing or damaged file of documents changes nothing but the speed.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_PLAYBOOK_DIR, loadPlaybooks } from '../../src/playbooks/load.ts';
import { documentKey, readPrebuiltDocuments } from '../../src/playbooks/prebuilt-documents.ts';

const work = mkdtempSync(join(tmpdir(), 'th-prebuilt-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const files = readdirSync(DEFAULT_PLAYBOOK_DIR).filter((f) => f.endsWith('.yaml'));
const textOf = (f: string) => readFileSync(join(DEFAULT_PLAYBOOK_DIR, f), 'utf8');

describe('prebuilt playbook documents', () => {
  it('compile to the same playbooks as their YAML', async () => {
    const prebuilt = new Map(files.map((f) => [documentKey(textOf(f)), parseYaml(textOf(f)) as unknown]));
    const fromYaml = await loadPlaybooks(DEFAULT_PLAYBOOK_DIR, undefined, new Map());
    const fromDocuments = await loadPlaybooks(DEFAULT_PLAYBOOK_DIR, undefined, prebuilt);
    // Terms hold compiled matchers (functions): compared by what they say, as JSON does.
    const view = (ps: typeof fromYaml) =>
      ps.map((p) => ({ name: p.name, title: p.title, steps: p.steps.map((s) => s.id), params: p.params.parse({}), vocabulary: JSON.stringify(p.vocabulary) }));
    expect(view(fromDocuments)).toEqual(view(fromYaml));
    expect(fromDocuments.length).toBe(files.length);
  });

  it('are taken for a file whose text has their key, and only for it', async () => {
    const [file] = files;
    const text = textOf(file!);
    const doc = parseYaml(text) as { title: string };
    const dir = join(work, 'one');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    writeFileSync(join(dir, file!), text);
    // Keyed by this text: used as it is (a different title shows it was not parsed again).
    const [used] = await loadPlaybooks(dir, undefined, new Map([[documentKey(text), { ...doc, title: 'from the prebuilt document' }]]));
    expect(used!.title).toBe('from the prebuilt document');
    // The file edited by one character: its key no longer matches, the YAML is parsed.
    writeFileSync(join(dir, file!), `${text}\n`);
    const [parsed] = await loadPlaybooks(dir, undefined, new Map([[documentKey(text), { ...doc, title: 'from the prebuilt document' }]]));
    expect(parsed!.title).toBe(doc.title);
  });

  it('are none when the file is missing, damaged or of another shape', async () => {
    expect((await readPrebuiltDocuments(join(work, 'absent.json'))).size).toBe(0);
    writeFileSync(join(work, 'damaged.json'), '{"documents": {');
    expect((await readPrebuiltDocuments(join(work, 'damaged.json'))).size).toBe(0);
    writeFileSync(join(work, 'shape.json'), JSON.stringify({ documents: { 'not-a-hash': {} } }));
    expect((await readPrebuiltDocuments(join(work, 'shape.json'))).size).toBe(0);
    const key = documentKey('name: x\n');
    writeFileSync(join(work, 'good.json'), JSON.stringify({ documents: { [key]: { name: 'x' } } }));
    expect([...(await readPrebuiltDocuments(join(work, 'good.json'))).entries()]).toEqual([[key, { name: 'x' }]]);
  });
});
