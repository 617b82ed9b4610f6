import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
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

async function cruiseWithProjectRules(roots: string[], baseDir?: string): Promise<ICruiseResult> {
  const options = await extractDepcruiseOptions(`${process.cwd()}/${CONFIG}`);
  const tsConfig = extractTSConfig('tsconfig.json');
  const { output } = await cruise(roots, { ...options, ...(baseDir ? { baseDir } : {}) }, {}, { tsConfig });
  if (typeof output === 'string') throw new Error('dependency-cruiser returned text, not a result');
  return output;
}

function cycles(result: ICruiseResult): string[] {
  return result.summary.violations.filter((v) => v.rule.name === 'no-circular').map((v) => [v.from, ...(v.cycle ?? []).map((c) => c.name)].join(' → '));
}

describe('import cycles and layers', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('lints src, workers, bpf, entry, bin, bench, test and infra', () => {
    expect(lintedFolders()).toEqual(['src', 'workers', 'bpf', 'entry', 'bin', 'bench', 'test', 'infra']);
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

  // Each upward import, planted in a throwaway tree laid out like ours, is caught by the rule that forbids it; the
  // downward ones beside them are not (docs/ARCHITECTURE.md, "Rooms and the direction of dependencies").
  it('refuses every import that runs up the layers, and only those', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'th-layers-'));
    dirs.push(dir);
    const files = ['src/core/c.ts', 'src/flamegraph/g.ts', 'bpf/t.ts', 'src/findings/f.ts', 'src/redis/r.ts', 'src/api/a.ts', 'workers/orchestrator/o.ts', 'workers/node-agent/n.ts', 'entry/e.ts'];
    const edges: [string, string][] = [
      // upward: each must be refused
      ['src/core/c.ts', 'bpf/t.ts'],
      ['src/flamegraph/g.ts', 'src/findings/f.ts'],
      ['bpf/t.ts', 'src/findings/f.ts'],
      ['src/findings/f.ts', 'src/redis/r.ts'],
      ['src/redis/r.ts', 'workers/orchestrator/o.ts'],
      ['workers/node-agent/n.ts', 'workers/orchestrator/o.ts'],
      ['src/api/a.ts', 'entry/e.ts'],
      // downward: allowed
      ['entry/e.ts', 'workers/node-agent/n.ts'],
      ['workers/orchestrator/o.ts', 'src/redis/r.ts'],
      ['src/redis/r.ts', 'src/findings/f.ts'],
      ['src/findings/f.ts', 'bpf/t.ts'],
      ['bpf/t.ts', 'src/flamegraph/g.ts'],
      ['src/flamegraph/g.ts', 'src/core/c.ts'],
    ];
    for (const f of files) {
      mkdirSync(join(dir, f, '..'), { recursive: true });
      const imports = edges.filter(([from]) => from === f).map(([, to]) => `import '${relative(join(dir, f, '..'), join(dir, to)).replace(/^(?!\.)/, './')}';`);
      writeFileSync(join(dir, f), `${imports.join('\n')}\nexport {};\n`);
    }
    const result = await cruiseWithProjectRules(['src', 'bpf', 'workers', 'entry'], dir);
    const refused = result.summary.violations.filter((v) => v.rule.name !== 'no-circular').map((v) => `${v.from} → ${v.to}`);
    expect([...new Set(refused)].sort()).toEqual(edges.slice(0, 7).map(([a, b]) => `${a} → ${b}`).sort());
  }, 60_000);
});
