import { parseArgs } from 'node:util';
import { AggregatePlaybookError, DEFAULT_PLAYBOOK_DIR, loadPlaybooks } from '../src/playbooks/load.ts';
import { prebuildDocuments } from '../src/playbooks/prebuild.ts';

export const PLAYBOOKS_USAGE = `usage: tracehound playbooks check [DIR]
  Compiles every *.yaml playbook in DIR (default: the playbooks shipped with tracehound) as a start-up would, and
  prints each problem with its file and path; exits 1 when there is one. Run it before deploying edited playbooks.
usage: tracehound playbooks documents [DIR]
  What the build writes to dist/playbook-documents.json: the documents of the playbooks that compile, as JSON.`;

interface Io {
  out(s: string): void;
  err(s: string): void;
}

/** `tracehound playbooks check|documents [DIR]`. */
export async function runPlaybooksCommand(argv: string[], io: Io): Promise<number> {
  let sub: string | undefined;
  let dir: string;
  try {
    const parsed = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
    [sub] = parsed.positionals;
    if (parsed.values.help || (sub !== 'check' && sub !== 'documents') || parsed.positionals.length > 2) {
      io.err(PLAYBOOKS_USAGE);
      return parsed.values.help ? 0 : 2;
    }
    dir = parsed.positionals[1] ?? DEFAULT_PLAYBOOK_DIR;
  } catch (err) {
    io.err(`${(err as Error).message}\n${PLAYBOOKS_USAGE}`);
    return 2;
  }
  if (sub === 'documents') {
    const { documents, leftOut } = await prebuildDocuments(dir);
    for (const l of leftOut) io.err(`left out ${l.file}: ${l.reason}`);
    io.out(`${JSON.stringify({ documents })}\n`);
    return 0;
  }
  try {
    // Never the build's documents: every file is parsed and checked from its text.
    const playbooks = await loadPlaybooks(dir, undefined, new Map());
    io.out(`${playbooks.length} playbooks compile: ${playbooks.map((p) => p.name).join(', ')}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof AggregatePlaybookError)) throw err;
    for (const e of err.errors) io.err(`${e.message}\n`);
    return 1;
  }
}
