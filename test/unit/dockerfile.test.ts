import { existsSync, globSync, readFileSync } from 'node:fs';
import { matchesGlob, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliCommands } from '../helpers/cli-parts.ts';

/**
 * No image can be built on the development machines (no builder, no base image to pull), so the Dockerfile is kept
 * honest here: it copies what exists, ships what the built code reads, and runs the commands CI runs.
 */
const ROOT = new URL('../../', import.meta.url);
const read = (rel: string) => readFileSync(new URL(rel, ROOT), 'utf8');

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  steps: Instruction[];
}

/** Instructions by stage, continuation lines joined, comments and the syntax line dropped. */
function stages(text: string): { args: Map<string, string>; stages: Stage[] } {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const args = new Map<string, string>();
  const out: Stage[] = [];
  for (const line of lines) {
    const [, op = '', rest = ''] = /^(\S+)\s+(.*)$/.exec(line) ?? [];
    if (op === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      out.push({ from: (m?.[1] ?? '').replace(/^\$\{(\w+)\}$/, (_, a: string) => args.get(a) ?? ''), name: m?.[2], steps: [] });
    } else if (op === 'ARG' && out.length === 0) {
      const [name = '', value = ''] = rest.split('=');
      args.set(name, value);
    } else {
      const stage = out.at(-1);
      if (!stage) throw new Error(`Dockerfile: ${op} before any FROM`);
      stage.steps.push({ op, args: rest });
    }
  }
  return { args, stages: out };
}

const dockerfile = stages(read('Dockerfile'));
const byName = (name: string | undefined) => {
  const stage = dockerfile.stages.find((s) => s.name === name);
  if (!stage) throw new Error(`Dockerfile: no stage ${name}`);
  return stage;
};
const runtime = dockerfile.stages.at(-1)!;
const build = byName('build');
const deps = byName('deps');
const runs = (stage: Stage) => stage.steps.filter((s) => s.op === 'RUN').map((s) => s.args);
const copies = (stage: Stage) =>
  stage.steps
    .filter((s) => s.op === 'COPY')
    .map((s) => {
      const from = /--from=(\S+)/.exec(s.args)?.[1];
      const words = s.args.replace(/--\S+\s*/g, '').split(/\s+/);
      return { from, sources: words.slice(0, -1), dest: words.at(-1)! };
    });
/** Where a copied source lands: into a destination folder (trailing /), or as the destination itself. */
const target = (source: string, dest: string) => posix.normalize(dest.endsWith('/') ? posix.join(dest, posix.basename(source)) : dest);
const exec = (op: string) => JSON.parse(runtime.steps.find((s) => s.op === op)?.args ?? 'null') as string[];

/** .dockerignore's patterns; a path is left out when it or a folder above it matches one. */
const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
const excluded = (path: string) => {
  const parts = path.split('/');
  return parts.some((_, i) => ignored.some((p) => matchesGlob(parts.slice(0, i + 1).join('/'), p)));
};

/** `npm ci …` as .ci/run spells it: CI's flags are the Dockerfile's. */
const CI = read('.ci/run');
const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string>; scripts: Record<string, string>; engines: { node: string } };

describe('Dockerfile', () => {
  it('copies from the context only what exists there and .dockerignore lets through', () => {
    const sources = dockerfile.stages.flatMap((s) => copies(s).filter((c) => c.from === undefined).flatMap((c) => c.sources));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources.filter((s) => s !== '.')) {
      expect(existsSync(new URL(source, ROOT)), `${source} is not in the repository`).toBe(true);
      expect(excluded(source), `${source} is left out by .dockerignore`).toBe(false);
    }
  });

  it('leaves out of the context what is rebuilt or never shipped', () => {
    for (const path of ['node_modules', 'dist', '.git', '.tracehound', 'test/fixtures', 'bpf/bpftrace/profile/fixtures', 'src/config.test.ts']) {
      expect(excluded(path), path).toBe(true);
    }
    for (const path of ['src/config.ts', 'entry/cli.ts', 'scripts/build.mjs', 'tsconfig.json', 'playbooks/enospc.yaml']) {
      expect(excluded(path), path).toBe(false);
    }
  });

  it('ships every file the built code reads at run time: dist/, playbooks/, every program of every variant', () => {
    const shipped = copies(runtime).flatMap((c) => c.sources.map((s) => target(s, c.dest)));
    expect(shipped).toEqual(expect.arrayContaining(['dist', 'playbooks', 'node_modules', 'package.json']));
    // program.bt, and program.<variant>.bt for a tool's other variants (bpf/bpftrace/define.ts).
    const programs = globSync('bpf/**/program*.bt', { cwd: new URL(ROOT).pathname }).sort();
    expect(programs.length).toBeGreaterThan(0);
    const copiedPrograms = copies(runtime)
      .flatMap((c) => c.sources.filter((source) => /\/program(\.[\w-]+)?\.bt$/.test(source)).map((source) => ({ source, dest: c.dest })))
      .map(({ source, dest }) => {
        expect(target(source, dest), 'a program lands where its manifest looks for it').toBe(source);
        return source;
      });
    expect(copiedPrograms.sort()).toEqual(programs);
  });

  it('builds with the commands CI runs', () => {
    const npmCi = /^npm ci(?: --[\w-]+)*$/m.exec(CI)?.[0];
    expect(npmCi, '.ci/run has no npm ci line').toBeDefined();
    expect(runs(build)).toEqual([npmCi, 'npm run build']);
    expect(pkg.scripts.build, 'package.json has no build script').toBeDefined();
    expect(CI).toMatch(/^npm run build$/m);
    const [production] = runs(deps);
    expect(production).toBe(`npm ci --omit=dev ${npmCi!.slice('npm ci '.length)}`);
    expect(CI.split('\n').map((l) => l.trim()), 'CI rehearses the production install').toContain(production);
  });

  it('runs on the Node the package asks for, with bpftrace and without redis-server', () => {
    const major = /(\d+)/.exec(pkg.engines.node)?.[1];
    for (const stage of dockerfile.stages) expect(stage.from).toBe(`node:${major}-bookworm-slim`);
    const install = runs(runtime).join(' ');
    expect(install).toMatch(/apt-get install [^&]*\bbpftrace\b/);
    expect(install).not.toMatch(/redis-server/);
  });

  it('starts the CLI the package starts, as the unprivileged user, the API by default', () => {
    const entrypoint = exec('ENTRYPOINT');
    expect(entrypoint[0]).toBe('node');
    const bin = pkg.bin.tracehound!;
    const loads = /import\('(\.\.\/dist\/[\w.]+)'\)/.exec(read(bin))?.[1];
    expect(loads, `${bin} loads no dist/ file`).toBeDefined();
    expect(entrypoint[1]).toBe(posix.join(posix.dirname(bin), loads!));
    expect(pkg.scripts.start, 'npm start runs the same CLI').toContain(bin);
    expect(cliCommands()).toEqual(expect.arrayContaining(exec('CMD')));
    expect(runtime.steps.filter((s) => s.op === 'USER').map((s) => s.args)).toEqual(['node']);
    expect(runtime.steps.map((s) => s.op)).not.toContain('HEALTHCHECK');
  });
});
