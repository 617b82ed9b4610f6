/**
 * The kernel matrix's configuration: which stock kernels to boot (test/kernels/kernels.json), where their packages
 * come from, and where the harness keeps what it fetched and built.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** A Debian kernel image package: "linux-image-6.1.0-57-amd64", "linux-image-6.12.117+deb13-amd64". */
const KernelPackage = z
  .string()
  .regex(/^linux-image-\d+\.\d+[\w.+~-]*-amd64$/, 'expected an exact amd64 kernel image package such as "linux-image-6.1.0-57-amd64"')
  .refine((p) => !p.endsWith('-cloud-amd64'), 'the -cloud flavour has no 9p, so the guest cannot reach the host root');

export const MatrixKernel = z
  .object({
    /** Short name, used in file names and the matrix's columns. */
    id: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,40}$/),
    title: z.string().min(1),
    /** Debian suite the package is fetched from, through a private apt state (the host's apt is never touched). */
    suite: z.enum(['bookworm', 'trixie']),
    package: KernelPackage,
    /** Archive URL; Debian's own by default. The suite's -updates and the security archive's -security are read too. */
    archive: z.string().url().default('http://deb.debian.org/debian'),
    security: z.string().url().default('http://deb.debian.org/debian-security'),
  })
  .strict();
export type MatrixKernel = z.infer<typeof MatrixKernel>;

export const MatrixConfig = z.object({ $comment: z.string().optional(), kernels: z.array(MatrixKernel).min(1) }).strict();

export function loadMatrix(file = join(REPO, 'test/kernels/kernels.json')): MatrixKernel[] {
  const parsed = MatrixConfig.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    throw new Error(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  const ids = parsed.data.kernels.map((k) => k.id);
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup) throw new Error(`${file}: kernel id ${dup} is listed twice`);
  return parsed.data.kernels;
}

/** Downloaded packages, unpacked kernels and initramfs images: kept between runs (TRACEHOUND_KERNEL_CACHE). */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TRACEHOUND_KERNEL_CACHE ?? join(homedir(), '.cache', 'tracehound', 'kernels');
}
