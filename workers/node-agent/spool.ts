import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Config } from '../../src/config.ts';
import { InvestigationId } from '../../src/core/ids.ts';
import { NodeName } from '../../src/core/target.ts';
import { StepId } from '../../src/core/investigation.ts';

/** Where one spooled artifact belongs, kept beside its bytes so a restarted agent can still deliver it. */
export const SpoolManifest = z.object({
  investigationId: InvestigationId,
  stepId: StepId,
  node: NodeName,
  name: z.string().min(1),
  key: z.string().min(1),
  contentType: z.string().min(1),
  /** ISO time the first upload attempt failed. */
  since: z.string(),
});
export type SpoolManifest = z.infer<typeof SpoolManifest>;

export interface SpoolEntry {
  id: string;
  manifest: SpoolManifest;
  /** Bytes on disk: the artifact and its manifest. */
  bytes: number;
}

export const spoolDir = (c: Pick<Config, 'AGENT_SPOOL_DIR' | 'DATA_DIR'>) => resolve(c.AGENT_SPOOL_DIR ?? join(c.DATA_DIR, 'spool'));

const MANIFEST = '.json';
const DATA = '.data';
/** "<13-digit ms>-<6-digit sequence>-<random>": names sort oldest first, across restarts too. */
const ENTRY_ID = /^\d{13}-\d{6}-[0-9a-f]{8}$/;

/**
 * Artifacts the agent could not upload, on local disk until storage takes them: a capture is not lost because
 * storage was away. Bounded: past `maxBytes` the oldest entries are dropped (logged), a capture's worth of disk
 * never grows without end on a node whose storage is gone for good. One writer: the agent that owns the directory.
 *
 * An entry is `<id>.data` (the bytes) and `<id>.json` (its manifest), the manifest renamed into place last: a
 * crash half-way leaves no manifest, and the partial bytes are removed on the next open.
 */
export class ArtifactSpool {
  private readonly index: SpoolEntry[] = [];
  private total = 0;
  private seq = 0;
  /** Adds and removals one at a time, so the byte count and the eviction order hold. */
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly dir: string,
    readonly maxBytes: number,
    private readonly log: Logger,
  ) {}

  /** Opens (creating, mode 0700) the spool, keeps the complete entries a previous run left and removes the rest. */
  static async open(opts: { dir: string; maxBytes: number; log: Logger }): Promise<ArtifactSpool> {
    const spool = new ArtifactSpool(opts.dir, opts.maxBytes, opts.log);
    await mkdir(opts.dir, { recursive: true, mode: 0o700 });
    // mkdir leaves an existing directory's mode alone: artifacts (stacks, command lines) are for root only.
    await chmod(opts.dir, 0o700);
    await spool.load();
    return spool;
  }

  /** Oldest first. */
  entries(): readonly SpoolEntry[] {
    return [...this.index];
  }

  get bytes(): number {
    return this.total;
  }

  /**
   * Keeps one artifact, dropping the oldest entries if it would not fit otherwise. Returns why it could not be
   * kept (in words), or null when kept.
   */
  add(manifest: SpoolManifest, body: string | Buffer): Promise<string | null> {
    return this.serial(() => this.addNow(SpoolManifest.parse(manifest), typeof body === 'string' ? Buffer.from(body, 'utf8') : body));
  }

  async read(entry: SpoolEntry): Promise<Buffer> {
    return readFile(this.path(entry.id, DATA));
  }

  /** Removes an entry (delivered, or given up); a missing one is fine. */
  remove(entry: SpoolEntry): Promise<void> {
    return this.serial(() => this.removeNow(entry.id));
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private path(id: string, ext: string): string {
    return join(this.dir, `${id}${ext}`);
  }

  private async addNow(manifest: SpoolManifest, body: Buffer): Promise<string | null> {
    const meta = Buffer.from(JSON.stringify(manifest));
    const bytes = body.length + meta.length;
    if (bytes > this.maxBytes) {
      this.log.warn({ investigation: manifest.investigationId, artifact: manifest.name, bytes, maxBytes: this.maxBytes }, 'artifact larger than the whole spool: not kept');
      return `larger than the agent's spool (${this.maxBytes} bytes)`;
    }
    await this.evictUntil(this.maxBytes - bytes);
    const id = `${String(Date.now()).padStart(13, '0')}-${String(this.seq++ % 1_000_000).padStart(6, '0')}-${randomBytes(4).toString('hex')}`;
    try {
      await writeFile(this.path(id, DATA), body, { mode: 0o600 });
      await writeFile(this.path(id, `${MANIFEST}.tmp`), meta, { mode: 0o600 });
      await rename(this.path(id, `${MANIFEST}.tmp`), this.path(id, MANIFEST));
    } catch (err) {
      this.log.error({ err, dir: this.dir, artifact: manifest.name }, 'could not write to the spool');
      await rm(this.path(id, DATA), { force: true });
      await rm(this.path(id, `${MANIFEST}.tmp`), { force: true });
      return 'the agent could not keep it on disk either';
    }
    this.index.push({ id, manifest, bytes });
    this.total += bytes;
    return null;
  }

  /** Drops the oldest entries until at most `limit` bytes are held, saying which in the log. */
  private async evictUntil(limit: number): Promise<void> {
    while (this.total > limit && this.index.length > 0) {
      const oldest = this.index[0]!;
      this.log.warn(
        { investigation: oldest.manifest.investigationId, artifact: oldest.manifest.name, bytes: oldest.bytes, since: oldest.manifest.since },
        'spool full: dropped the oldest artifact waiting for object storage',
      );
      await this.removeNow(oldest.id);
    }
  }

  private async removeNow(id: string): Promise<void> {
    const at = this.index.findIndex((e) => e.id === id);
    if (at < 0) return;
    const [entry] = this.index.splice(at, 1);
    this.total -= entry!.bytes;
    // Manifest first: bytes without a manifest are cleaned up on the next open, the reverse would be delivered again.
    await rm(this.path(id, MANIFEST), { force: true });
    await rm(this.path(id, DATA), { force: true });
  }

  private async load(): Promise<void> {
    const names = (await readdir(this.dir)).sort();
    const ids = new Set(names.filter((n) => n.endsWith(MANIFEST)).map((n) => n.slice(0, -MANIFEST.length)));
    for (const id of ids) {
      const entry = ENTRY_ID.test(id) ? await this.readEntry(id) : null;
      if (entry) {
        this.index.push(entry);
        this.total += entry.bytes;
      } else {
        this.log.warn({ dir: this.dir, entry: id }, 'unreadable spool entry removed');
        await rm(this.path(id, MANIFEST), { force: true });
        await rm(this.path(id, DATA), { force: true });
      }
    }
    // Leftovers of a write cut short: bytes without a manifest, manifests never renamed into place.
    for (const name of names) {
      const id = name.replace(/\.(data|json\.tmp)$/, '');
      if (id !== name && !this.index.some((e) => e.id === id)) await rm(join(this.dir, name), { force: true });
    }
    // AGENT_SPOOL_MAX may have been lowered since.
    await this.evictUntil(this.maxBytes);
    if (this.index.length > 0) this.log.info({ dir: this.dir, entries: this.index.length, bytes: this.total }, 'spooled artifacts from an earlier run to upload');
  }

  private async readEntry(id: string): Promise<SpoolEntry | null> {
    try {
      const meta = await readFile(this.path(id, MANIFEST));
      const manifest = SpoolManifest.safeParse(JSON.parse(meta.toString('utf8')));
      const data = await stat(this.path(id, DATA));
      return manifest.success ? { id, manifest: manifest.data, bytes: data.size + meta.length } : null;
    } catch {
      return null;
    }
  }
}
