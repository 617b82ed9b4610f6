/**
 * The guest's initramfs: a static busybox, the kernel's own modules that reach the host root (virtio-pci, 9p over
 * virtio, overlayfs, with what they depend on), and init.sh as /init. About 3 MB; built once per kernel and per
 * version of init.sh, and kept in the cache.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { UnpackedKernel } from './kernel-package.ts';

const INIT = fileURLToPath(new URL('init.sh', import.meta.url));
const BUSYBOX = '/bin/busybox';
/** What the initramfs must load to mount the host's root: the rest loads later, on demand, from the root. */
const WANTED = ['virtio_pci', '9pnet_virtio', '9p', 'overlay'];

/** Module name → its file and dependencies, from modules.dep (written by busybox depmod, kernel-package.ts). */
function moduleGraph(modules: string): Map<string, { file: string; deps: string[] }> {
  const graph = new Map<string, { file: string; deps: string[] }>();
  const nameOf = (path: string) => basename(path, '.ko').replaceAll('-', '_');
  for (const line of readFileSync(join(modules, 'modules.dep'), 'utf8').split('\n')) {
    const [file, deps] = line.split(':');
    if (!file || deps === undefined) continue;
    graph.set(nameOf(file), { file: file.startsWith('/') ? file : join(modules, file), deps: deps.trim().split(/\s+/).filter(Boolean).map(nameOf) });
  }
  return graph;
}

/** The modules to load, dependencies first; built-in ones are skipped. */
export function loadOrder(modules: string, wanted = WANTED): Array<{ name: string; file: string }> {
  const graph = moduleGraph(modules);
  const builtin = existsSync(join(modules, 'modules.builtin')) ? readFileSync(join(modules, 'modules.builtin'), 'utf8') : '';
  const order: Array<{ name: string; file: string }> = [];
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const mod = graph.get(name);
    if (!mod) {
      if (new RegExp(`/${name.replaceAll('_', '[_-]')}\\.ko$`, 'm').test(builtin)) return;
      throw new Error(`module ${name} is neither in ${modules}/modules.dep nor built in`);
    }
    for (const d of mod.deps) visit(d);
    order.push({ name, file: mod.file });
  };
  for (const w of wanted) visit(w);
  return order;
}

/** Builds (or finds in the cache) the initramfs for `kernel`; returns its path. */
export function initramfsFor(cache: string, kernel: UnpackedKernel): string {
  const key = createHash('sha256').update(readFileSync(INIT)).update(kernel.release).update(WANTED.join()).digest('hex').slice(0, 12);
  const out = join(cache, 'initramfs', `${kernel.release}-${key}.cpio`);
  if (existsSync(out)) return out;
  mkdirSync(join(cache, 'initramfs'), { recursive: true });
  const stage = mkdtempSync(join(cache, 'initramfs', 'stage-'));
  try {
    for (const d of ['bin', 'dev', 'proc', 'sys', 'modules']) mkdirSync(join(stage, d));
    copyFileSync(BUSYBOX, join(stage, 'bin/busybox'));
    for (const applet of execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox')) {
      symlinkSync('busybox', join(stage, 'bin', applet));
    }
    const order = loadOrder(kernel.modules);
    for (const m of order) copyFileSync(m.file, join(stage, 'modules', `${m.name}.ko`));
    writeFileSync(join(stage, 'modules.order'), `${order.map((m) => m.name).join('\n')}\n`);
    copyFileSync(INIT, join(stage, 'init'));
    execFileSync('chmod', ['755', join(stage, 'init')]);
    // The kernel needs /dev/console before devtmpfs is mounted (we run as root: nodes and owners are real).
    execFileSync('mknod', ['-m', '600', join(stage, 'dev/console'), 'c', '5', '1']);
    const list = execFileSync('find', ['.'], { cwd: stage, encoding: 'utf8' });
    writeFileSync(`${out}.tmp`, execFileSync(BUSYBOX, ['cpio', '-o', '-H', 'newc'], { cwd: stage, input: list, maxBuffer: 1 << 28, stdio: ['pipe', 'pipe', 'ignore'] }));
    renameSync(`${out}.tmp`, out);
    return out;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
