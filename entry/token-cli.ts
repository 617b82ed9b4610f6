import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { Scope } from '../src/auth/identity.ts';
import { TokenEntry, generateToken, hashToken } from '../src/auth/tokens.ts';

export const TOKEN_USAGE = `usage: tracehound token create --name <name> --scopes <scope,…> [--namespaces <ns,…>] [--playbooks <name,…>]
  Prints a new API token once, and the entry to add under "tokens:" in ACCESS_FILE (only its SHA-256 is kept).
  scopes: ${Scope.options.join(', ')}`;

const list = (v: string | undefined) => (v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean));

/** `tracehound token create`: makes a token and the ACCESS_FILE entry for it; the token itself is never stored. */
export function runTokenCommand(argv: string[], io: { out(s: string): void; err(s: string): void }): number {
  let values: Record<string, string | boolean | undefined>;
  try {
    const parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { name: { type: 'string' }, scopes: { type: 'string' }, namespaces: { type: 'string' }, playbooks: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
    if (parsed.values.help || parsed.positionals[0] !== 'create') {
      io.err(TOKEN_USAGE);
      return parsed.values.help ? 0 : 2;
    }
    values = parsed.values;
  } catch (err) {
    io.err(`${(err as Error).message}\n${TOKEN_USAGE}`);
    return 2;
  }
  const token = generateToken();
  const entry = TokenEntry.safeParse({
    name: values.name,
    sha256: hashToken(token),
    scopes: list(values.scopes as string | undefined),
    ...(values.namespaces !== undefined ? { namespaces: list(values.namespaces as string) } : {}),
    ...(values.playbooks !== undefined ? { playbooks: list(values.playbooks as string) } : {}),
  });
  if (!entry.success) {
    io.err(`${entry.error.issues.map((i) => `--${String(i.path[0])}: ${i.message}`).join('\n')}\n${TOKEN_USAGE}`);
    return 2;
  }
  io.out(`# token (shown once; give it to its user): ${token}\n${stringify([entry.data])}`);
  return 0;
}
