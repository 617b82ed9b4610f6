// Perf maps (workers/node-agent/symbols/perf-map.ts) and what the symbolizer makes of them, on recorded and
// synthetic maps (fixtures/README.md says which) and on live node and python (3.11; 3.12 with -X perf) processes.
// It lives here rather than beside the symbolizer because vitest collects test/ and bpf/ only.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseProfile } from '../../bpf/bpftrace/profile/parser.ts';
import { PerfMap, PerfMapCache, PerfMapRefused } from '../../workers/node-agent/symbols/perf-map.ts';
import { detectRuntime, effectiveUid, namespacePid } from '../../workers/node-agent/symbols/runtime.ts';
import { UserSymbolizer } from '../../workers/node-agent/symbols/user-symbolizer.ts';
import { toolFixture } from '../helpers/recordings.ts';
import { assertRuntime, PYTHON312, skipRuntime } from '../helpers/runtimes.ts';
import { sleep } from '../helpers/kernel.ts';

const fixture = (name: string) => readFileSync(new URL(`../../workers/node-agent/symbols/fixtures/${name}`, import.meta.url));
const NODE = new URL('../../node_modules/.bin/node', import.meta.url).pathname;
const BUSY_JS = new URL('../fixtures/jit/busy.cjs', import.meta.url).pathname;
const BUSY_PY = new URL('../fixtures/jit/busy.py', import.meta.url).pathname;
/** The interpreter itself, not a wrapper (pyenv's shim is a shell script until it execs). */
const PYTHON = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();

describe('PerfMap', () => {
  it('reads a recorded node --perf-basic-prof map and names its JIT code', () => {
    const map = PerfMap.parse(fixture('node-perf-basic-prof.map'));
    expect(map.entries).toBe(5621);
    // Optimized burnAlpha: 7f40fc009680 3b8; inside, at its last byte, and just past it.
    expect(map.lookup(0x7f40fc009680n)).toBe('JS:*burnAlpha /work/main/test/fixtures/jit/busy.cjs:6:19');
    expect(map.lookup(0x7f40fc009680n + 0x3b7n)).toBe('JS:*burnAlpha /work/main/test/fixtures/jit/busy.cjs:6:19');
    expect(map.lookup(0x7f411bdc0000n)).toBe('Builtin:DeoptimizationEntry_Eager');
    expect(map.lookup(0x10n)).toBeNull();
  });

  it('names the recorded profile of the same process: both JS functions, no [unknown] JIT frames', () => {
    const map = PerfMap.parse(fixture('node-perf-basic-prof.map'));
    // The JIT frames only: file-backed frames would need the process's binaries, which a recording does not keep.
    const { result } = parseProfile(toolFixture('profile', 'node-jit-pid.json'), 99, (_pid, a) => map.lookup(a));
    const names = result.topFunctions.map((f) => f.name);
    expect(names[0]).toMatch(/^JS:\*burn(Alpha|Beta) /);
    expect(names).toContain('JS:*burnAlpha /work/main/test/fixtures/jit/busy.cjs:6:19');
    expect(names).toContain('JS:*burnBeta /work/main/test/fixtures/jit/busy.cjs:11:18');
    const jitShare = result.topFunctions.filter((f) => f.name.startsWith('JS:*burn')).reduce((n, f) => n + f.self, 0);
    expect(jitShare).toBeGreaterThan(0.8);
  });

  it('lets a later line win where a JIT reused an address range', () => {
    const map = PerfMap.parse(Buffer.from('1000 100 old\n1080 10 newer\n1000 20 newest\n2000 10 other\n'));
    expect(map.lookup(0x1010n)).toBe('newest');
    expect(map.lookup(0x1030n)).toBe('old');
    expect(map.lookup(0x1085n)).toBe('newer');
    expect(map.lookup(0x10ffn)).toBe('old');
    expect(map.lookup(0x1100n)).toBeNull();
    expect(map.lookup(0x2005n)).toBe('other');
  });

  it('skips what does not parse: blank and torn lines, zero sizes, CRLF endings; keeps spaces in names', () => {
    const map = PerfMap.parse(Buffer.from('\nzz 10 bad\n3000 0 empty\n4000 10 void f(int, int)\r\n5000 1'));
    expect(map.entries).toBe(1);
    expect(map.lookup(0x4001n)).toBe('void f(int, int)');
    expect(map.lookup(0x5000n)).toBeNull();
  });

  it('reads a recorded jcmd Compiler.perfmap map (JDK 17): 0x-padded ranges, typed method names, stubs', () => {
    const map = PerfMap.parse(fixture('java-jcmd-perfmap.map'));
    expect(map.entries).toBe(373);
    // C2's on-stack-replacement code of both loops (0x00007f63d8ecac20 0x00000000000000d8 long Busy.burnAlpha()).
    expect(map.lookup(0x7f63d8ecac20n)).toBe('long Busy.burnAlpha()');
    expect(map.lookup(0x7f63d8ecac20n + 0xd7n)).toBe('long Busy.burnAlpha()');
    expect(map.lookup(0x7f63d8eca900n + 0x4an)).toBe('long Busy.burnBeta()');
    // Parameter lists keep their spaces; stubs are named as HotSpot names them.
    expect(map.lookup(0x7f63d1401dc0n)).toBe('char java.lang.StringLatin1.charAt(byte[], int)');
    expect(map.lookup(0x7f63d8940b80n + 0x100n)).toBe('Interpreter');
    expect(map.lookup(0x7f63d8938c00n)).toBe('StubRoutines (1)');
  });

  it('names the recorded profile of the same JVM: both hot methods, whole stacks through the interpreter', () => {
    const map = PerfMap.parse(fixture('java-jcmd-perfmap.map'));
    const { result, stacks } = parseProfile(toolFixture('profile', 'java-pid.json'), 99, (_pid, a) => map.lookup(a));
    const self = Object.fromEntries(result.topFunctions.map((f) => [f.name, f.self]));
    expect(result.samples).toBe(493);
    // Every sample's leaf is one of the two loops, split between the two threads.
    expect((self['long Busy.burnAlpha()'] ?? 0) + (self['long Busy.burnBeta()'] ?? 0)).toBe(1);
    expect(self['long Busy.burnAlpha()']).toBeGreaterThan(0.4);
    expect(self['long Busy.burnBeta()']).toBeGreaterThan(0.4);
    // The frames between them and libjvm's call stub are interpreter frames (the callers were never compiled).
    expect(stacks.folded).toMatch(/^java;.*;StubRoutines \(1\);Interpreter;long Busy\.burnAlpha\(\) \d+$/m);
    expect(stacks.folded).toMatch(/^burn-beta;.*;StubRoutines \(1\);Interpreter;Interpreter;long Busy\.burnBeta\(\) \d+$/m);
  });

  it('reads a recorded python 3.12 -X perf map, yet names none of the recorded samples of the same process', () => {
    const map = PerfMap.parse(fixture('python-312-perf.map'));
    expect(map.entries).toBe(181);
    // 7f80954bb7b1 b py::burn_alpha:/work/main/test/fixtures/jit/busy.py: 11-byte trampolines, back to back.
    expect(map.lookup(0x7f80954bb7b1n + 0xan)).toBe('py::burn_alpha:/work/main/test/fixtures/jit/busy.py');
    expect(map.lookup(0x7f80954bb7bcn)).toBe('py::burn_beta:/work/main/test/fixtures/jit/busy.py');
    // The interpreter has no frame pointers: no walk reached a trampoline, so no sampled address is in the map.
    let named = 0;
    parseProfile(toolFixture('profile', 'python312-xperf-pid.json'), 99, (_pid, a) => {
      const name = map.lookup(a);
      if (name !== null) named++;
      return name;
    });
    expect(named).toBe(0);
  });

  it.each([
    ['java-perf-map-agent.map', 0x7f5a8d0b2c10n, 'Lcom/example/Burn;::crunchBeta->Lcom/example/Burn;::mix'],
    ['dotnet-perfmap.map', 0x7f9a3c6e2010n, 'int64 [burn] Burn::CrunchAlpha(int32)[Optimized]'],
  ])('reads the %s format (synthetic lines)', (file, address, name) => {
    expect(PerfMap.parse(fixture(file)).lookup(address)).toBe(name);
  });

  it('parses a million-line map in well under the capture stop grace', () => {
    const lines: string[] = [];
    for (let i = 0; i < 1_000_000; i++) lines.push(`${(0x7f0000000000 + ((i * 7919) % 1_000_000) * 0x100).toString(16)} c0 JS:*fn${i} /app/x.js:${i}:1`);
    const text = Buffer.from(`${lines.join('\n')}\n`);
    const t0 = performance.now();
    const map = PerfMap.parse(text);
    const ms = performance.now() - t0;
    expect(map.entries).toBe(1_000_000);
    expect(map.lookup(BigInt(0x7f0000000000 + ((123 * 7919) % 1_000_000) * 0x100 + 5))).toBe('JS:*fn123 /app/x.js:123:1');
    // A bound, not a figure (the host may be loaded): well inside the 15 s stop grace. bench/symbolize.ts measures.
    expect(ms).toBeLessThan(10_000);
  });
});

describe('PerfMapCache', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'th-perfmap-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a map again only when it grew or changed', () => {
    const path = join(dir, 'perf-1.map');
    writeFileSync(path, '1000 10 a\n');
    const cache = new PerfMapCache();
    expect(cache.load(path, null)?.lookup(0x1000n)).toBe('a');
    expect(cache.load(path, null)?.lookup(0x1000n)).toBe('a');
    expect(cache.reads).toBe(1);
    appendFileSync(path, '1000 10 b\n');
    expect(cache.load(path, null)?.lookup(0x1000n)).toBe('b');
    expect(cache.reads).toBe(2);
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    cache.load(path, null);
    expect(cache.reads).toBe(3);
  });

  it('evicts the least recently used maps past its byte budget', () => {
    const cache = new PerfMapCache(200);
    for (let i = 0; i < 5; i++) {
      const path = join(dir, `evict-${i}.map`);
      writeFileSync(path, `${(0x1000 + i).toString(16)} 10 f${i}\n`);
      cache.load(path, null);
    }
    expect(cache.size).toBeLessThan(5);
  });

  it('has nothing for a process without a map', () => {
    expect(new PerfMapCache().load(join(dir, 'perf-404.map'), null)).toBeNull();
  });

  it('refuses links, non-files and maps of another user', () => {
    const cache = new PerfMapCache();
    symlinkSync('/etc/passwd', join(dir, 'perf-2.map'));
    expect(() => cache.load(join(dir, 'perf-2.map'), null)).toThrow(PerfMapRefused);
    mkdirSync(join(dir, 'perf-3.map'));
    expect(() => cache.load(join(dir, 'perf-3.map'), null)).toThrow(/not a regular file/);
    writeFileSync(join(dir, 'perf-4.map'), '1000 10 a\n');
    chownSync(join(dir, 'perf-4.map'), 1234, 1234);
    expect(() => cache.load(join(dir, 'perf-4.map'), 1000)).toThrow(/owned by uid 1234/);
    expect(cache.load(join(dir, 'perf-4.map'), 1234)?.lookup(0x1000n)).toBe('a');
  });
});

describe('runtime detection', () => {
  it('knows JIT runtimes by binary or library', () => {
    expect(detectRuntime('/usr/local/bin/node', [])).toEqual({ runtime: 'node', version: null });
    expect(detectRuntime('/usr/bin/myapp', ['/usr/lib/libnode.so.127'])).toEqual({ runtime: 'node', version: null });
    // As Debian's OpenJDK 17 and pyenv's CPython 3.12 map them (read from /proc/<pid>/maps of running processes).
    const jdk = '/usr/lib/jvm/java-17-openjdk-amd64';
    expect(detectRuntime(`${jdk}/bin/java`, [`${jdk}/bin/java`, `${jdk}/lib/libjli.so`, `${jdk}/lib/server/libjvm.so`])).toEqual({ runtime: 'java', version: null });
    const py = '/root/.pyenv/versions/3.12.1';
    expect(detectRuntime(`${py}/bin/python3.12`, [`${py}/lib/libpython3.12.so.1.0`])).toEqual({ runtime: 'python', version: '3.12' });
    expect(detectRuntime('/usr/bin/python3.11', [])).toEqual({ runtime: 'python', version: '3.11' });
    expect(detectRuntime('/usr/bin/uwsgi', ['/usr/lib/x86_64-linux-gnu/libpython3.12.so.1.0'])).toEqual({ runtime: 'python', version: '3.12' });
    expect(detectRuntime('/usr/share/dotnet/dotnet', ['/usr/share/dotnet/shared/Microsoft.NETCore.App/8.0.0/libcoreclr.so'])).toEqual({ runtime: 'dotnet', version: null });
    expect(detectRuntime('/app/MyService', ['/app/libcoreclr.so'])).toEqual({ runtime: 'dotnet', version: null });
    expect(detectRuntime('/usr/bin/burn', ['/usr/lib/x86_64-linux-gnu/libc.so.6'])).toBeNull();
    expect(detectRuntime(null, [])).toBeNull();
  });

  it('reads the pid a process has in its own namespace, and its effective uid', () => {
    const status = 'Name:\tnode\nUid:\t1000\t1001\t1001\t1001\nNSpid:\t48213\t7\n';
    expect(namespacePid(status)).toBe(7);
    expect(effectiveUid(status)).toBe(1001);
    expect(namespacePid('NSpid:\t99\n')).toBe(99);
    expect(namespacePid('Name:\tx\n')).toBeNull();
  });
});

describe('UserSymbolizer and perf maps', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'th-proc-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('finds a container process map in its root, under its namespace pid', () => {
    // A stand-in for /proc: host pid 4242 is pid 7 in its container, whose /tmp holds perf-7.map.
    const proc = join(root, '4242');
    mkdirSync(join(proc, 'root', 'tmp'), { recursive: true });
    writeFileSync(join(proc, 'maps'), '7f0000000000-7f0000100000 rwxp 00000000 00:00 0 \n');
    writeFileSync(join(proc, 'status'), `Name:\tnode\nUid:\t0\t${process.getuid?.() ?? 0}\t0\t0\nNSpid:\t4242\t7\n`);
    symlinkSync('/usr/local/bin/node', join(proc, 'exe'));
    writeFileSync(join(proc, 'root', 'tmp', 'perf-7.map'), '7f0000000100 80 JS:*handler /app/server.js:10:3\n');
    writeFileSync(join(proc, 'root', 'tmp', 'perf-4242.map'), '7f0000000100 80 wrong\n');
    const sym = new UserSymbolizer({ procRoot: root, perfMaps: new PerfMapCache() });
    expect(sym.resolve(4242, 0x7f0000000120n)).toBe('JS:*handler /app/server.js:10:3');
    expect(sym.resolve(4242, 0x7f0000000200n)).toBeNull();
    expect(sym.facts(4242)).toEqual({
      exe: '/usr/local/bin/node', runtime: 'node', runtimeVersion: null, perfMap: 'read', perfMapEntries: 1, perfMapFrames: 1,
    });
  });

  it('does not follow a container /tmp that links elsewhere', () => {
    const proc = join(root, '5151');
    mkdirSync(join(proc, 'root'), { recursive: true });
    mkdirSync(join(root, 'elsewhere'));
    writeFileSync(join(root, 'elsewhere', 'perf-1.map'), '1000 10 planted\n');
    symlinkSync(join(root, 'elsewhere'), join(proc, 'root', 'tmp'));
    writeFileSync(join(proc, 'maps'), '');
    writeFileSync(join(proc, 'status'), 'NSpid:\t5151\t1\n');
    const sym = new UserSymbolizer({ procRoot: root, perfMaps: new PerfMapCache() });
    expect(sym.resolve(5151, 0x1000n)).toBeNull();
    expect(sym.facts(5151)?.perfMap).toBe('none');
  });

  it('says nothing of a process that is gone', () => {
    expect(new UserSymbolizer({ procRoot: root }).facts(999_999)).toBeNull();
  });
});

describe('UserSymbolizer on live JIT processes', () => {
  const children: ChildProcess[] = [];
  const start = (cmd: string, args: string[]) => {
    const child = spawn(cmd, args, { stdio: 'ignore' });
    children.push(child);
    return child;
  };
  afterEach(() => {
    for (const c of children.splice(0)) {
      c.kill('SIGKILL');
      if (c.pid !== undefined) rmSync(`/tmp/perf-${c.pid}.map`, { force: true });
    }
  });

  async function waitForLine(path: string, re: RegExp): Promise<string> {
    for (let i = 0; i < 100; i++) {
      const line = existsSync(path) ? readFileSync(path, 'utf8').split('\n').find((l) => re.test(l)) : undefined;
      if (line) return line;
      await sleep(100);
    }
    throw new Error(`no line matching ${re} in ${path}`);
  }

  it('names optimized JS functions of node --perf-basic-prof from its map, read through /proc/<pid>/root', async () => {
    const child = start(NODE, ['--perf-basic-prof', BUSY_JS]);
    const line = await waitForLine(`/tmp/perf-${child.pid}.map`, /JS:\*burnAlpha /);
    const [addr = '', size = ''] = line.split(' ');
    const sym = new UserSymbolizer({ perfMaps: new PerfMapCache() });
    const inside = BigInt(`0x${addr}`) + BigInt(`0x${size}`) / 2n;
    expect(sym.resolve(child.pid!, inside)).toMatch(/^JS:\*burnAlpha .*busy\.cjs:\d+:\d+$/);
    expect(sym.facts(child.pid!)).toMatchObject({ exe: expect.stringMatching(/\/node$/), runtime: 'node', perfMap: 'read', perfMapFrames: 1 });
  });

  it('says a node process without --perf-basic-prof has no map', async () => {
    const child = start(NODE, [BUSY_JS]);
    await sleep(500);
    expect(new UserSymbolizer({ perfMaps: new PerfMapCache() }).facts(child.pid!)).toMatchObject({ runtime: 'node', perfMap: 'missing', perfMapEntries: 0 });
  });

  it.skipIf(skipRuntime(PYTHON312))('reads the map of python3.12 -X perf and names a function from it', async () => {
    assertRuntime(PYTHON312);
    const child = start(PYTHON312.executable, ['-X', 'perf', BUSY_PY]);
    const line = await waitForLine(`/tmp/perf-${child.pid}.map`, / py::burn_alpha:/);
    const [addr = ''] = line.split(' ');
    const sym = new UserSymbolizer({ perfMaps: new PerfMapCache() });
    expect(sym.resolve(child.pid!, BigInt(`0x${addr}`) + 5n)).toBe(`py::burn_alpha:${BUSY_PY}`);
    expect(sym.facts(child.pid!)).toMatchObject({ exe: PYTHON312.executable, runtime: 'python', runtimeVersion: '3.12', perfMap: 'read', perfMapFrames: 1 });
  });

  it('knows python and its version from the running interpreter', async () => {
    const child = start(PYTHON, [BUSY_PY]);
    await sleep(500);
    const facts = new UserSymbolizer({ perfMaps: new PerfMapCache() }).facts(child.pid!);
    expect(facts).toMatchObject({ runtime: 'python', runtimeVersion: expect.stringMatching(/^3\.\d+$/), perfMap: 'missing' });
  });
});
