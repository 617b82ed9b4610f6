/**
 * Runs one command on one kernel of the matrix, for recording fixtures and looking around:
 *
 *   npm run kernel -- debian12-6.1 -- bpftrace -e 'kretprobe:count_mounts { @[(int32)retval] = count(); }'
 *   npm run kernel -- debian13-6.12 --share /tmp/out -- sh -c 'uname -r > $KMATRIX_SHARE/release'
 *
 * The command runs as root in the guest, in the current directory; its output streams here and its exit code is
 * this one's (125: the guest never reported one). `--share DIR` keeps the shared folder (files the command writes to
 * $KMATRIX_SHARE); without it a temporary one is removed after.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheDir, loadMatrix } from './config.ts';
import { runInGuest } from './guest.ts';
import { initramfsFor } from './initramfs.ts';
import { unpackedKernel } from './kernel-package.ts';

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const [id, ...flags] = dash < 0 ? argv : argv.slice(0, dash);
const command = dash < 0 ? [] : argv.slice(dash + 1);
const kernels = loadMatrix();
const k = kernels.find((x) => x.id === id);
if (!k || command.length === 0) {
  console.error(`usage: npm run kernel -- <${kernels.map((x) => x.id).join('|')}> [--share DIR] -- <command> [args…]`);
  process.exit(2);
}
const shareAt = flags.indexOf('--share');
const share = shareAt >= 0 ? flags[shareAt + 1]! : mkdtempSync(join(tmpdir(), 'th-kernel-run-'));
const cache = cacheDir();
const kernel = unpackedKernel(cache, k);
const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
const r = await runInGuest({
  kernel,
  initramfs: initramfsFor(cache, kernel),
  script: `exec ${command.map(quote).join(' ')}\n`,
  cwd: process.cwd(),
  share,
  onOutput: (t) => process.stdout.write(t),
});
console.error(`[${k.id}: ${kernel.release}, exit ${r.exitCode ?? 'none'}, ${(r.wallMs / 1000).toFixed(1)} s wall, boot ${r.bootS ?? '?'} s, command ${r.scriptS?.toFixed(1) ?? '?'} s]`);
if (r.exitCode === null) console.error(`the guest reported no exit code${r.timedOut ? ' (timed out)' : ''}; console:\n${r.console.split('\n').slice(-40).join('\n')}`);
if (shareAt < 0) rmSync(share, { recursive: true, force: true });
process.exit(r.exitCode ?? 125);
