import { spawn } from 'node:child_process';

/**
 * C++ (Itanium ABI) names to readable ones through binutils' c++filt, batched: a capture's distinct mangled names
 * go through one c++filt run, and results are remembered agent-wide. Where c++filt is missing, names stay mangled.
 */
export class Demangler {
  private readonly known = new Map<string, string>();
  private readonly pending = new Set<string>();

  constructor(
    private readonly binary = 'c++filt',
    private readonly capacity = 200_000,
  ) {}

  /** The readable name if already known; otherwise the name as given, queued for the next flush(). */
  name(raw: string): string {
    if (!raw.startsWith('_Z')) return raw;
    const done = this.known.get(raw);
    if (done !== undefined) return done;
    this.pending.add(raw);
    return raw;
  }

  /** Demangles what name() queued; true when some name changed, so the caller may render again. */
  async flush(): Promise<boolean> {
    if (this.pending.size === 0) return false;
    const names = [...this.pending];
    this.pending.clear();
    const out = await this.run(names);
    if (this.known.size + names.length > this.capacity) this.known.clear();
    let changed = false;
    names.forEach((n, i) => {
      const d = out?.[i] || n;
      this.known.set(n, d);
      changed ||= d !== n;
    });
    return changed;
  }

  private run(names: string[]): Promise<string[] | null> {
    return new Promise((resolve) => {
      // Names come from binaries' symbol tables, never from users; one per line on stdin, no shell.
      const child = spawn(this.binary, [], { stdio: ['pipe', 'pipe', 'ignore'] });
      const chunks: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => chunks.push(b));
      child.on('error', () => resolve(null));
      child.on('close', (code) => {
        const lines = Buffer.concat(chunks).toString('utf8').split('\n');
        resolve(code === 0 && lines.length > names.length ? lines.slice(0, names.length) : null);
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(`${names.join('\n')}\n`);
    });
  }
}

export const defaultDemangler = new Demangler();
