import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readElfSymbols } from '../../workers/node-agent/symbols/elf.ts';
import { findMapping, parseProcMaps } from '../../workers/node-agent/symbols/proc-maps.ts';
import { ElfCache, UserSymbolizer } from '../../workers/node-agent/symbols/user-symbolizer.ts';

/** Prints where its functions (and two libc ones, and an executable anonymous mapping, like JIT code) live. */
const program = (fn: string) => `
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
__attribute__((noinline)) int ${fn}(int n) { int s = 0; for (int i = 0; i < n; i++) s += i * 3; return s; }
__attribute__((noinline)) int crunch_beta(int n) { int s = 1; for (int i = 0; i < n; i++) s ^= i * 7; return s; }
int main(void) {
  void *anon = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("{\\"alpha\\":\\"%p\\",\\"beta\\":\\"%p\\",\\"getpid\\":\\"%p\\",\\"printf\\":\\"%p\\",\\"anon\\":\\"%p\\",\\"n\\":%d}\\n",
         (void *)${fn}, (void *)crunch_beta, dlsym(RTLD_DEFAULT, "getpid"), dlsym(RTLD_DEFAULT, "printf"), anon,
         ${fn}(3) + crunch_beta(3));
  fflush(stdout);
  sleep(600);
  return 0;
}
`;

interface Addresses {
  alpha: bigint;
  beta: bigint;
  getpid: bigint;
  printf: bigint;
  anon: bigint;
}

let dir = '';
const children: ChildProcess[] = [];

function compile(name: string, flags: string[] = [], fn = 'crunch_alpha'): string {
  const src = join(dir, `${name}.c`);
  const out = join(dir, name);
  writeFileSync(src, program(fn));
  execFileSync('gcc', ['-O0', '-g', '-fno-omit-frame-pointer', ...flags, '-o', out, src]);
  return out;
}

/** Starts the program and waits for its one line of addresses. */
async function run(binary: string): Promise<{ pid: number; at: Addresses }> {
  const child = spawn(binary, [], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) resolve(text.slice(0, text.indexOf('\n')));
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`${binary} exited with ${code}`)));
  });
  const raw = JSON.parse(line) as Record<keyof Addresses, string>;
  const at = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, BigInt(v)])) as unknown as Addresses;
  if (child.pid === undefined) throw new Error('no pid');
  return { pid: child.pid, at };
}

/** nm's text symbols (t, T, i: what is code) as "address name". */
function nmFunctions(binary: string): string[] {
  return execFileSync('nm', ['--defined-only', binary], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' '))
    .filter(([, type]) => type !== undefined && 'tTi'.includes(type))
    .map(([addr = '', , name]) => `${BigInt(`0x${addr}`)} ${name}`)
    .sort();
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'th-usym-'));
});

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('parseProcMaps', () => {
  const maps = [
    '55d0c0a00000-55d0c0a01000 r--p 00000000 fd:01 1234                       /usr/bin/app',
    '55d0c0a01000-55d0c0a02000 r-xp 00001000 fd:01 1234                       /usr/bin/app',
    '7f0000000000-7f0000001000 r-xp 00002000 fd:01 99                         /opt/my app/lib x.so (deleted)',
    '7f0000100000-7f0000200000 rwxp 00000000 00:00 0 ',
    '7f0000300000-7f0000301000 r-xp 00000000 00:00 0                          [vdso]',
    '7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]',
    'garbage',
  ].join('\n');

  it('keeps executable file-backed mappings and [vdso], with spaces and (deleted) in paths', () => {
    const m = parseProcMaps(maps);
    expect(m.map((x) => x.path)).toEqual(['/usr/bin/app', '/opt/my app/lib x.so', '[vdso]']);
    expect(m[0]).toMatchObject({ start: 0x55d0c0a01000n, end: 0x55d0c0a02000n, offset: 0x1000n, inode: 1234, deleted: false });
    expect(m[1]).toMatchObject({ offset: 0x2000n, dev: 'fd:01', deleted: true });
    expect(findMapping(m, 0x7f0000000fffn)?.path).toBe('/opt/my app/lib x.so');
    expect(findMapping(m, 0x7f0000001000n)).toBeNull();
    expect(findMapping(m, 0x7f0000100010n)).toBeNull(); // anonymous (JIT) code is not kept
  });
});

describe.each([
  ['PIE', []],
  ['non-PIE', ['-no-pie']],
])('UserSymbolizer on a %s binary', (label, flags) => {
  let binary = '';
  let pid = 0;
  let at: Addresses;

  beforeAll(async () => {
    binary = compile(label === 'PIE' ? 'pie' : 'nopie', flags);
    ({ pid, at } = await run(binary));
  });

  it('reads the same function symbols as nm', () => {
    const ours = readElfSymbols(binary)
      .symbols()
      .map((s) => `${s.value} ${s.name}`)
      .sort();
    expect(ours).toEqual(nmFunctions(binary));
    expect(ours.some((s) => s.endsWith(' crunch_alpha'))).toBe(true);
  });

  it('names its own functions', () => {
    const sym = new UserSymbolizer();
    expect(sym.resolve(pid, at.alpha + 5n)).toBe('crunch_alpha');
    expect(sym.resolve(pid, at.alpha)).toBe('crunch_alpha');
    expect(sym.resolve(pid, at.beta + 5n)).toBe('crunch_beta');
  });

  it('names libc functions from its .dynsym', () => {
    const sym = new UserSymbolizer();
    expect(sym.resolve(pid, at.getpid + 2n)).toMatch(/^_*getpid$/);
    expect(sym.resolve(pid, at.printf + 5n)).toMatch(/^_*(IO_)?printf$/);
  });

  it('gives null for anonymous code, unmapped addresses and dead pids, and [vdso] for the vdso', () => {
    const sym = new UserSymbolizer();
    expect(sym.resolve(pid, at.anon + 16n)).toBeNull();
    expect(sym.resolve(pid, 0x10n)).toBeNull();
    expect(sym.resolve(0x3fffffff, at.alpha)).toBeNull();
    expect(sym.resolve(-1, at.alpha)).toBeNull();
    const vdso = readFileSync(`/proc/${pid}/maps`, 'utf8')
      .split('\n')
      .find((l) => l.endsWith('[vdso]'));
    // Linux maps a vDSO into every process (unless booted with vdso=0, which no supported host is).
    expect(vdso, `/proc/${pid}/maps has no [vdso]`).toBeDefined();
    expect(sym.resolve(pid, BigInt(`0x${vdso!.split('-')[0]}`) + 8n)).toBe('[vdso]');
  });
});

describe('UserSymbolizer on a stripped binary', () => {
  it('gives null for its functions without throwing, and still names libc', async () => {
    const binary = compile('stripped');
    execFileSync('strip', [binary]);
    const { pid, at } = await run(binary);
    const sym = new UserSymbolizer({ cache: new ElfCache() });
    expect(sym.resolve(pid, at.alpha + 5n)).toBeNull();
    expect(sym.resolve(pid, at.beta + 5n)).toBeNull();
    expect(sym.resolve(pid, at.getpid + 2n)).toMatch(/^_*getpid$/);
  });
});

describe('ElfCache', () => {
  it('reads a binary once, and again after it is replaced', () => {
    const path = join(dir, 'replaced');
    copyFileSync(compile('v1'), path);
    const cache = new ElfCache();
    const names = () => cache.load(path)?.symbols().map((s) => s.name) ?? [];
    expect(names()).toContain('crunch_alpha');
    expect(names()).toContain('crunch_alpha');
    expect(cache.reads).toBe(1);

    // As a deploy does: a new file renamed over the old path (new inode, new mtime).
    renameSync(compile('v2', [], 'crunch_gamma'), path);
    expect(names()).toContain('crunch_gamma');
    expect(names()).not.toContain('crunch_alpha');
    expect(cache.reads).toBe(2);
  });

  it('evicts the least recently used binary beyond its capacity', () => {
    const cache = new ElfCache(2);
    const [a, b, c] = ['lru-a', 'lru-b', 'lru-c'].map((n) => compile(n));
    cache.load(a!);
    cache.load(b!);
    cache.load(a!); // a is now the most recent
    cache.load(c!); // evicts b
    expect(cache.size).toBe(2);
    cache.load(a!);
    expect(cache.reads).toBe(3);
    cache.load(b!);
    expect(cache.reads).toBe(4);
  });

  it('names a running binary that was replaced on disk by what is mapped, not by the new file', async () => {
    const path = join(dir, 'deployed');
    copyFileSync(compile('old'), path);
    const { pid, at } = await run(path);
    renameSync(compile('new', [], 'crunch_gamma'), path);
    const sym = new UserSymbolizer({ cache: new ElfCache() });
    expect(sym.resolve(pid, at.alpha + 5n)).toBe('crunch_alpha');
  });

  it('gives null for files that are not ELF', () => {
    const path = join(dir, 'not-elf');
    writeFileSync(path, 'hello, not an ELF file at all, but longer than a header would be. '.repeat(2));
    const cache = new ElfCache();
    expect(cache.load(path)).toBeNull();
    expect(cache.load(join(dir, 'missing'))).toBeNull();
    expect(() => readElfSymbols(path)).toThrow(/not an ELF file/);
  });
});
