import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { newInvestigationId } from '../../src/core/ids.ts';
import { artifactKey } from '../../src/storage/keys.ts';
import { ArtifactSpool, spoolDir, type SpoolManifest } from '../../workers/node-agent/spool.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'th-spool-'));
  dirs.push(d);
  return join(d, 'spool');
}

/** A real pino logger writing into an array, to read what the spool said. */
function recordingLog() {
  const lines: { level: number; msg: string; artifact?: string }[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as (typeof lines)[number]) });
  return { log, lines };
}

const investigationId = newInvestigationId();
function manifest(file: string, since = '2025-01-01T00:00:00.000Z'): SpoolManifest {
  const name = `mounts/node-1/${file}`;
  return { investigationId, stepId: 'mounts', node: 'node-1', name, key: artifactKey(investigationId, name), contentType: 'application/json', since };
}

const KiB = 1024;

describe('ArtifactSpool', () => {
  it('round-trips bytes and manifest, oldest first, and removes what was delivered', async () => {
    const { log } = recordingLog();
    const spool = await ArtifactSpool.open({ dir: tempDir(), maxBytes: 1024 * KiB, log });
    const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect(await spool.add(manifest('raw.json'), '{"raw":true}')).toBeNull();
    expect(await spool.add(manifest('stacks.bin', '2025-01-01T00:00:01.000Z'), binary)).toBeNull();

    const entries = spool.entries();
    expect(entries.map((e) => e.manifest)).toEqual([manifest('raw.json'), manifest('stacks.bin', '2025-01-01T00:00:01.000Z')]);
    expect((await spool.read(entries[0]!)).toString()).toBe('{"raw":true}');
    expect((await spool.read(entries[1]!)).equals(binary)).toBe(true);
    expect(spool.bytes).toBe(entries[0]!.bytes + entries[1]!.bytes);
    expect(spool.bytes).toBeGreaterThan(256 + 12);

    await spool.remove(entries[0]!);
    await spool.remove(entries[0]!); // twice is fine
    expect(spool.entries().map((e) => e.manifest.name)).toEqual(['mounts/node-1/stacks.bin']);
    expect(readdirSync(spool.dir).sort()).toEqual([`${entries[1]!.id}.data`, `${entries[1]!.id}.json`]);
  });

  it('stays within maxBytes by dropping the oldest entries, saying so in the log', async () => {
    const { log, lines } = recordingLog();
    const spool = await ArtifactSpool.open({ dir: tempDir(), maxBytes: 10 * KiB, log });
    const body = Buffer.alloc(3 * KiB, 'x');
    for (const f of ['a', 'b', 'c']) expect(await spool.add(manifest(f), body)).toBeNull();
    expect(spool.entries().map((e) => e.manifest.name)).toEqual(['a', 'b', 'c'].map((f) => `mounts/node-1/${f}`));

    // 3 × (3 KiB + manifest) + another 3 KiB does not fit in 10 KiB: "a", the oldest, goes.
    expect(await spool.add(manifest('d'), body)).toBeNull();
    expect(spool.entries().map((e) => e.manifest.name)).toEqual(['b', 'c', 'd'].map((f) => `mounts/node-1/${f}`));
    expect(spool.bytes).toBeLessThanOrEqual(10 * KiB);
    const dataOnDisk = readdirSync(spool.dir).filter((n) => n.endsWith('.data'));
    expect(dataOnDisk.reduce((sum, n) => sum + statSync(join(spool.dir, n)).size, 0)).toBe(9 * KiB);
    const dropped = lines.filter((l) => l.msg.includes('spool full'));
    expect(dropped.map((l) => l.artifact)).toEqual(['mounts/node-1/a']);

    // Bigger than the whole spool: refused with words, nothing already kept is dropped for it.
    const refused = await spool.add(manifest('huge'), Buffer.alloc(11 * KiB));
    expect(refused).toMatch(/larger than the agent's spool/);
    expect(spool.entries()).toHaveLength(3);
  });

  it('finds a previous run’s entries on disk, drops partial writes, and respects a lowered cap', async () => {
    const dir = tempDir();
    const first = await ArtifactSpool.open({ dir, maxBytes: 1024 * KiB, log: recordingLog().log });
    await first.add(manifest('raw.json'), 'one');
    await first.add(manifest('result.json'), 'two');
    await first.add(manifest('stacks.folded'), Buffer.alloc(2 * KiB, 'y'));
    const [e1] = first.entries();
    // A crash between the bytes and the manifest, a manifest never renamed into place, a corrupt manifest.
    writeFileSync(join(dir, '1700000000000-000000-deadbeef.data'), 'orphan');
    writeFileSync(join(dir, '1700000000000-000001-deadbeef.json.tmp'), '{');
    writeFileSync(join(dir, '1700000000000-000002-deadbeef.data'), 'x');
    writeFileSync(join(dir, '1700000000000-000002-deadbeef.json'), '{"not":"a manifest"}');

    const { log, lines } = recordingLog();
    const again = await ArtifactSpool.open({ dir, maxBytes: 1024 * KiB, log });
    expect(again.entries().map((e) => e.manifest)).toEqual(first.entries().map((e) => e.manifest));
    expect((await again.read(again.entries()[0]!)).toString()).toBe('one');
    expect(again.bytes).toBe(first.bytes);
    expect(readdirSync(dir).filter((n) => n.includes('deadbeef'))).toEqual([]);
    expect(lines.some((l) => l.msg.includes('from an earlier run'))).toBe(true);

    // Reopened with a cap below what is held: the oldest go until it fits.
    const smaller = await ArtifactSpool.open({ dir, maxBytes: 2 * KiB + 400, log });
    expect(smaller.entries().map((e) => e.manifest.name)).toEqual(['mounts/node-1/stacks.folded']);
    expect(readdirSync(dir).some((n) => n.startsWith(e1!.id))).toBe(false);
  });

  it('is readable by its owner only, even when the directory already existed', async () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o755);
    const spool = await ArtifactSpool.open({ dir, maxBytes: 1024 * KiB, log: recordingLog().log });
    await spool.add(manifest('raw.json'), 'secret stacks');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const n of readdirSync(dir)) expect(statSync(join(dir, n)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(join(dir, readdirSync(dir).find((n) => n.endsWith('.json'))!), 'utf8'))).toEqual(manifest('raw.json'));
  });

  it('lives under DATA_DIR unless AGENT_SPOOL_DIR says otherwise; AGENT_SPOOL_MAX takes sizes', () => {
    expect(spoolDir(loadConfig({ DATA_DIR: '/var/lib/th' }))).toBe('/var/lib/th/spool');
    expect(spoolDir(loadConfig({ DATA_DIR: '/var/lib/th', AGENT_SPOOL_DIR: '/spool' }))).toBe('/spool');
    expect(loadConfig({}).AGENT_SPOOL_MAX).toBe(256 * 1024 * 1024);
    expect(loadConfig({ AGENT_SPOOL_MAX: '1GiB' }).AGENT_SPOOL_MAX).toBe(1024 ** 3);
    expect(loadConfig({ AGENT_SPOOL_MAX: '5000000' }).AGENT_SPOOL_MAX).toBe(5_000_000);
    expect(() => loadConfig({ AGENT_SPOOL_MAX: 'lots' })).toThrow(/AGENT_SPOOL_MAX: expected a size/);
    expect(() => loadConfig({ AGENT_SPOOL_MAX: '10KiB' })).toThrow(/AGENT_SPOOL_MAX: at least 1MiB/);
  });
});
