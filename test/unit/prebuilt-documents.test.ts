/**
 * The build's prebuilt playbook documents (src/playbooks/prebuilt-documents.ts): a document is taken only for a file
 * whose text hashes to its key, and a missing or damaged file of documents changes nothing but the speed.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { runPlaybooksCommand } from '../../entry/playbooks-cli.ts';
import { compileExpression, compileTemplate, ExpressionError } from '../../src/playbooks/expressions.ts';
import { DEFAULT_PLAYBOOK_DIR, loadPlaybooks } from '../../src/playbooks/load.ts';
import { prebuildDocuments } from '../../src/playbooks/prebuild.ts';
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

  it('defer parsing expressions only for the playbook loaded from one: the same broken text from YAML fails at load', async () => {
    const dir = join(work, 'deferred');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    const broken = textOf('enospc.yaml').replace('r.syscall == "mount"', 'r.syscall == ');
    writeFileSync(join(dir, 'enospc.yaml'), broken);
    await expect(loadPlaybooks(dir)).rejects.toThrow(/when: invalid CEL/);
    // As if the build had taken it (it never would): it loads, since nothing parses the expression until it runs.
    const [loaded] = await loadPlaybooks(dir, undefined, new Map([[documentKey(broken), parseYaml(broken) as unknown]]));
    expect(loaded!.name).toBe('enospc');
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

  it('are made only of playbooks that compile: one with a broken expression is left out, named with its path', async () => {
    const dir = join(work, 'mixed');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    const good = textOf('enospc.yaml');
    const broken = good.replace('r.syscall == "mount"', 'r.syscall == ');
    expect(broken).not.toBe(good);
    writeFileSync(join(dir, 'good.yaml'), good);
    writeFileSync(join(dir, 'broken.yaml'), broken.replace(/^name: enospc$/m, 'name: enospc-broken'));
    const { documents, leftOut } = await prebuildDocuments(dir);
    expect(Object.keys(documents)).toEqual([documentKey(good)]);
    expect(leftOut).toEqual([{ file: join(dir, 'broken.yaml'), reason: expect.stringMatching(/broken\.yaml: .*when: invalid CEL/) }]);

    // `tracehound playbooks check` says the same, and fails.
    const out: string[] = [];
    const err: string[] = [];
    expect(await runPlaybooksCommand(['check', dir], { out: (s) => out.push(s), err: (s) => err.push(s) })).toBe(1);
    expect(err.join('')).toMatch(/broken\.yaml: .*when: invalid CEL/);
    expect(await runPlaybooksCommand(['check'], { out: (s) => out.push(s), err: (s) => err.push(s) })).toBe(0);
    expect(out.join('')).toMatch(new RegExp(`^${files.length} playbooks compile: `));
  });

  it('have their expressions parsed when first evaluated: the build checked them, a start-up does not again', () => {
    const ctx = { params: { limit: 2 }, steps: {}, target: {} };
    const broken = 'params.limit == ';
    // Any other playbook: checked at load, with the problem.
    expect(() => compileExpression(broken)).toThrow(ExpressionError);
    // One the build compiled: nothing is parsed at load; the first evaluation parses (here, finds what the build
    // would have refused), later ones reuse the tree.
    const deferred = compileExpression(broken, { parse: 'on-first-use' });
    expect(deferred.source).toBe(broken);
    expect(() => deferred.evaluate(ctx)).toThrow(ExpressionError);
    const good = compileExpression('params.limit * 2 == 4', { expect: 'bool', parse: 'on-first-use' });
    expect(good.evaluate(ctx)).toBe(true);
    expect(good.evaluate({ ...ctx, params: { limit: 3 } })).toBe(false);
    // Templates the same, expression by expression.
    expect(() => compileTemplate(`limit {{ ${broken} }}`)).toThrow(ExpressionError);
    const template = compileTemplate(`limit {{ ${broken} }}`, 'on-first-use');
    expect(() => template.render(ctx)).toThrow(ExpressionError);
    expect(compileTemplate('limit {{ params.limit * 2 }}', 'on-first-use').render(ctx)).toBe('limit 4');
  });
});
