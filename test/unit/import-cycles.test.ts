import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cruise, type ICruiseResult } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The import rules `npm run lint` checks (.dependency-cruiser.mjs), run here too so that a cycle fails the suite
 * with the path of each cycle in the message. The folders come from the lint script itself: one list, in package.json.
 */
const CONFIG = '.dependency-cruiser.mjs';

function lintedFolders(): string[] {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { lint: string } };
  const m = /depcruise ((?:[\w.-]+ )+)--config \.dependency-cruiser\.mjs/.exec(pkg.scripts.lint);
  if (m?.[1] === undefined) throw new Error(`the lint script does not run depcruise with ${CONFIG}: ${pkg.scripts.lint}`);
  return m[1].trim().split(' ');
}

async function cruiseWithProjectRules(roots: string[]): Promise<ICruiseResult> {
  const options = await extractDepcruiseOptions(`./${CONFIG}`);
  const tsConfig = extractTSConfig('tsconfig.json');
  const { output } = await cruise(roots, options, {}, { tsConfig });
  if (typeof output === 'string') throw new Error('dependency-cruiser returned text, not a result');
  return output;
}

function cycles(result: ICruiseResult): string[] {
  return result.summary.violations.filter((v) => v.rule.name === 'no-circular').map((v) => [v.from, ...(v.cycle ?? []).map((c) => c.name)].join(' → '));
}

describe('import cycles', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('lints src, workers, bpf, bin, bench and test', () => {
    expect(lintedFolders()).toEqual(['src', 'workers', 'bpf', 'bin', 'bench', 'test']);
  });

  it('finds none in the linted folders', async () => {
    const result = await cruiseWithProjectRules(lintedFolders());
    expect(result.summary.totalCruised).toBeGreaterThan(300);
    expect(cycles(result)).toEqual([]);
    expect(result.summary.error).toBe(0);
  }, 60_000);

  it('counts a cycle made of type-only imports', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'th-cycle-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'a.ts'), "import type { B } from './b.ts';\nexport interface A { b?: B }\n");
    writeFileSync(join(dir, 'b.ts'), "import type { A } from './a.ts';\nexport interface B { a?: A }\n");
    const result = await cruiseWithProjectRules([dir]);
    expect(cycles(result)).toEqual([expect.stringMatching(/\/(a|b)\.ts → .*\/(?!\1)(a|b)\.ts → .*\/\1\.ts$/)]);
    expect(result.summary.error).toBe(1);
  }, 60_000);
});
