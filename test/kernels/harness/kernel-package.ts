/**
 * A stock Debian kernel, fetched and unpacked for booting under qemu — never installed: `apt-get download` through a
 * private apt state (its own sources list, lists and cache under the harness's cache directory, so the host's
 * packages, lists and boot are never touched), then `dpkg-deb -x` into the cache.
 *
 * After unpacking, once per kernel:
 * - the uncompressed ELF `vmlinux` is cut out of the bzImage: qemu boots it through PVH in 3–5 s under software
 *   emulation, where decompressing the bzImage alone costs ~5 s more (Debian builds with CONFIG_PVH=y);
 * - compressed modules (.ko.xz on 6.12) are decompressed and `busybox depmod` writes modules.dep, so the guest can
 *   load a module with busybox's insmod or modprobe (the host has no kmod);
 * - the configuration is checked for what the guest needs (9p, to share the host's root).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MatrixKernel } from './config.ts';

export interface UnpackedKernel {
  /** The kernel's release as uname -r prints it: "6.1.0-57-amd64". */
  release: string;
  /** The Debian package version it came from: "6.1.192-3". */
  packageVersion: string;
  root: string;
  /** What qemu boots: the extracted vmlinux (PVH), or the bzImage when it has no PVH entry. */
  image: string;
  modules: string;
  config: string;
}

const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/** apt-get and apt-cache pointed at a state of their own for `suite`. */
function privateApt(cache: string, k: MatrixKernel): { args: string[]; update(): void } {
  const dir = join(cache, 'apt', k.suite);
  const list = join(dir, 'sources.list');
  mkdirSync(join(dir, 'lists', 'partial'), { recursive: true });
  mkdirSync(join(dir, 'cache', 'archives', 'partial'), { recursive: true });
  // Kernel security updates land in -security first (and stay there): the pinned package may be in any of these.
  writeFileSync(
    list,
    [`${k.archive} ${k.suite}`, `${k.archive} ${k.suite}-updates`, `${k.security} ${k.suite}-security`].map((s) => `deb [signed-by=${KEYRING}] ${s} main\n`).join(''),
  );
  const args = [
    '-o', `Dir::Etc::sourcelist=${list}`,
    '-o', 'Dir::Etc::sourceparts=-',
    '-o', `Dir::State::Lists=${join(dir, 'lists')}`,
    '-o', `Dir::Cache=${join(dir, 'cache')}`,
    '-o', 'APT::Sandbox::User=root',
  ];
  return { args, update: () => execFileSync('apt-get', ['-qq', ...args, 'update'], { stdio: ['ignore', 'ignore', 'inherit'] }) };
}

/** The compressed payload of a bzImage, decompressed: an ELF image, or null when none of the formats yields one. */
function extractVmlinux(bzImage: Buffer): Buffer | null {
  const formats: Array<[string[], Buffer]> = [
    [['xz', '-dc'], Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])],
    [['zstd', '-dc'], Buffer.from([0x28, 0xb5, 0x2f, 0xfd])],
    [['gzip', '-dc'], Buffer.from([0x1f, 0x8b, 0x08])],
  ];
  for (const [cmd, magic] of formats) {
    let at = bzImage.indexOf(magic);
    for (let tries = 0; at >= 0 && tries < 3; tries++, at = bzImage.indexOf(magic, at + 1)) {
      // Trailing bytes after the payload make the decompressor exit non-zero: what it wrote is still the image.
      const r = spawnSync(cmd[0]!, cmd.slice(1), { input: bzImage.subarray(at), maxBuffer: 1 << 30 });
      if (r.stdout && r.stdout.length > 4 && r.stdout.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) return r.stdout;
    }
  }
  return null;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** Where the package put its modules: /lib/modules (bookworm) or /usr/lib/modules (trixie's merged /usr). */
function modulesBase(root: string, release: string): string {
  return existsSync(join(root, 'usr/lib/modules', release)) ? join(root, 'usr') : root;
}

function prepare(root: string, release: string): void {
  const base = modulesBase(root, release);
  const modules = join(base, 'lib/modules', release);
  const compressed = walk(join(modules, 'kernel')).filter((f) => /\.ko\.(xz|zst)$/.test(f));
  // xz and zstd take many files at once; batches keep the command line short.
  for (let i = 0; i < compressed.length; i += 500) {
    const batch = compressed.slice(i, i + 500);
    const xz = batch.filter((f) => f.endsWith('.xz'));
    const zst = batch.filter((f) => f.endsWith('.zst'));
    if (xz.length) execFileSync('xz', ['-d', '-f', ...xz]);
    if (zst.length) execFileSync('zstd', ['-d', '-f', '-q', '--rm', ...zst]);
  }
  execFileSync('busybox', ['depmod', '-b', base, release]);
  const image = join(root, 'boot', `vmlinux-${release}`);
  const config = readFileSync(join(root, 'boot', `config-${release}`), 'utf8');
  if (/^CONFIG_PVH=y$/m.test(config) && !existsSync(image)) {
    const elf = extractVmlinux(readFileSync(join(root, 'boot', `vmlinuz-${release}`)));
    if (elf) writeFileSync(image, elf);
  }
}

/** Fetches and unpacks `k` into the cache unless it is there already. */
export function unpackedKernel(cache: string, k: MatrixKernel): UnpackedKernel {
  const release = k.package.replace(/^linux-image-/, '');
  const root = join(cache, 'unpacked', release);
  if (!existsSync(join(root, '.ready'))) {
    mkdirSync(join(cache, 'unpacked'), { recursive: true });
    const apt = privateApt(cache, k);
    const tmp = mkdtempSync(join(cache, 'download-'));
    try {
      const download = () => spawnSync('apt-get', ['-qq', ...apt.args, 'download', k.package], { cwd: tmp, encoding: 'utf8' });
      let r = download();
      if (r.status !== 0) {
        apt.update();
        r = download();
      }
      if (r.status !== 0) {
        const meta = spawnSync('apt-cache', [...apt.args, 'depends', 'linux-image-amd64'], { encoding: 'utf8' }).stdout;
        const current = /Depends: (linux-image-\S+)/.exec(meta)?.[1];
        throw new Error(
          `${k.package} cannot be downloaded from Debian ${k.suite} (${r.stderr.trim()})` +
            (current ? `; the suite's current kernel is ${current}: pin it in test/kernels/kernels.json` : ''),
        );
      }
      const deb = readdirSync(tmp).find((f) => f.endsWith('.deb'));
      if (!deb) throw new Error(`apt-get download ${k.package} wrote no .deb`);
      const staging = join(tmp, 'root');
      execFileSync('dpkg-deb', ['-x', join(tmp, deb), staging]);
      const version = execFileSync('dpkg-deb', ['-f', join(tmp, deb), 'Version'], { encoding: 'utf8' }).trim();
      const config = readFileSync(join(staging, 'boot', `config-${release}`), 'utf8');
      if (!/^CONFIG_NET_9P=[ym]$/m.test(config)) throw new Error(`${k.package} has no 9p (CONFIG_NET_9P unset): the guest could not reach the host's root`);
      prepare(staging, release);
      writeFileSync(join(staging, '.package-version'), `${version}\n`);
      writeFileSync(join(staging, '.ready'), '');
      rmSync(root, { recursive: true, force: true });
      renameSync(staging, root);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const vmlinux = join(root, 'boot', `vmlinux-${release}`);
  return {
    release,
    packageVersion: readFileSync(join(root, '.package-version'), 'utf8').trim(),
    root,
    image: existsSync(vmlinux) && statSync(vmlinux).size > 0 ? vmlinux : join(root, 'boot', `vmlinuz-${release}`),
    modules: join(modulesBase(root, release), 'lib/modules', release),
    config: join(root, 'boot', `config-${release}`),
  };
}
