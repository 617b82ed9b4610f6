import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { NotFoundError, ServiceUnavailableError } from '../../src/core/errors.ts';
import { newInvestigationId } from '../../src/core/ids.ts';
import { loadConfig } from '../../src/config.ts';
import { ArtifactStore } from '../../src/storage/artifact-store.ts';
import { s3Limits } from '../../src/storage/s3-options.ts';
import { createS3Client } from '../../src/storage/s3-client.ts';
import { startEmbeddedS3 } from '../../src/storage/embedded-s3.ts';
import { artifactKey, artifactName, contentTypeFor, investigationPrefix } from '../../src/storage/keys.ts';
import { testS3, uniquePrefix } from '../helpers/services.ts';

// Real S3 protocol against the run's embedded s3rver; every test writes under its own investigation id.
const { client, store, bucket } = testS3();
afterAll(() => client.destroy());

describe('ArtifactStore against s3rver', () => {
  it('round-trips bodies and content types', async () => {
    const id = newInvestigationId();
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const artifacts: Array<[string, string | Buffer]> = [
      ['summary.json', JSON.stringify({ headline: 'disk full', findings: [] })],
      ['report.md', '# Rapport — ünïcödé ✓\n'],
      ['report.html', '<!doctype html><p>ok</p>'],
      ['cpu/node-1/flame.svg', '<svg xmlns="http://www.w3.org/2000/svg"/>'],
      ['cpu/node-1/stacks.folded', 'main;work 42\n'],
      ['errors/node-17/capture.bin', bytes],
    ];

    for (const [name, body] of artifacts) {
      const { size } = await store.put(artifactKey(id, name), body, contentTypeFor(name));
      expect(size).toBe(Buffer.byteLength(body));
    }
    for (const [name, body] of artifacts) {
      const got = await store.get(artifactKey(id, name));
      expect(got.body.equals(Buffer.from(body))).toBe(true);
      expect(got.size).toBe(Buffer.byteLength(body));
      expect(got.contentType).toBe(contentTypeFor(name));
    }

    const listed = await store.list(investigationPrefix(id));
    expect(listed.map((o) => artifactName(id, o.key)).sort()).toEqual(artifacts.map(([n]) => n).sort());
    expect(listed.find((o) => o.key.endsWith('capture.bin'))?.size).toBe(256);
  });

  it('overwrites an existing key', async () => {
    const key = artifactKey(newInvestigationId(), 'summary.json');
    await store.put(key, '{"v":1}', 'application/json');
    await store.put(key, '{"v":2,"longer":true}', 'application/json');
    expect((await store.get(key)).body.toString()).toBe('{"v":2,"longer":true}');
  });

  it('round-trips a multi-megabyte body (SDK sends Expect: 100-continue above 1 MB)', async () => {
    const key = artifactKey(newInvestigationId(), 'cpu/node-1/stacks.folded');
    const body = Buffer.alloc(3 * 1024 * 1024, 'main;loop 1\n');
    await store.put(key, body, 'text/plain; charset=utf-8');
    const got = await store.get(key);
    expect(got.size).toBe(body.length);
    expect(got.body.equals(body)).toBe(true);
  });

  it('stores streamed uploads verbatim (flexible checksums are off)', async () => {
    // With the SDK's default WHEN_SUPPORTED, a streamed body goes out aws-chunked with a CRC32 trailer and
    // s3rver stores the chunk framing as the object's content. createS3Client must prevent that.
    const key = artifactKey(newInvestigationId(), 'errors/node-1/raw.json');
    const parts = ['{"errors":', '[1,2,3]}'];
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: Readable.from(parts.map((p) => Buffer.from(p))),
        ContentLength: parts.join('').length,
        ContentType: 'application/json',
      }),
    );
    expect((await store.get(key)).body.toString()).toBe(parts.join(''));
  });

  it('treats a percent-encoded name as a literal key', async () => {
    const id = newInvestigationId();
    await store.put(artifactKey(id, 'x/%2e%2e/raw.json'), '{}', 'application/json');
    expect((await store.get(artifactKey(id, 'x/%2e%2e/raw.json'))).body.toString()).toBe('{}');
    expect((await store.list(investigationPrefix(id))).map((o) => o.key)).toEqual([
      artifactKey(id, 'x/%2e%2e/raw.json'),
    ]);
    await expect(store.get(artifactKey(id, 'raw.json'))).rejects.toBeInstanceOf(NotFoundError);
  });

  it('throws NotFoundError for a missing key', async () => {
    const key = artifactKey(newInvestigationId(), 'summary.json');
    await expect(store.get(key)).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.get(key)).rejects.toThrow(key);
  });

  it('does not report a missing bucket as a missing artifact', async () => {
    const other = new ArtifactStore({ client, bucket: `missing-${uniquePrefix('b')}` });
    const err: unknown = await other.get('investigations/x/summary.json').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(NotFoundError);
  });

  it('lists only the prefix, in key order, across pages and nested folders', async () => {
    const id = newInvestigationId();
    const neighbour = newInvestigationId();
    const names: string[] = [];
    for (let step = 0; step < 3; step++) {
      for (let node = 0; node < 4; node++) {
        for (const file of ['raw.json', 'stacks.folded']) names.push(`step-${step}/node-${node}/${file}`);
      }
    }
    names.push('summary.json', 'report.md');
    // Written in reverse so creation order differs from key order. Names avoid characters sorting below "/":
    // s3rver pages in directory-walk order, which then differs from key order (see ArtifactStore.list).
    for (const name of [...names].reverse()) await store.put(artifactKey(id, name), name, contentTypeFor(name));
    await store.put(artifactKey(neighbour, 'summary.json'), '{}', 'application/json');

    const expected = names.map((n) => ({ key: artifactKey(id, n), size: n.length })).sort((a, b) => (a.key < b.key ? -1 : 1));
    for (const pageSize of [1, 5, 7, 1000]) {
      expect(await store.list(investigationPrefix(id), { pageSize })).toEqual(expected);
    }
    expect(await store.list(`${investigationPrefix(id)}step-1/`)).toHaveLength(8);
    expect(await store.list(investigationPrefix(newInvestigationId()))).toEqual([]);
  });

  it('returns a single page in key order even where s3rver walks directories in another order', async () => {
    const id = newInvestigationId();
    const names = ['node-1/raw.json', 'node-1-b/raw.json', 'node-1.json'];
    for (const name of names) await store.put(artifactKey(id, name), name, contentTypeFor(name));
    const keys = (await store.list(investigationPrefix(id))).map((o) => artifactName(id, o.key));
    expect(keys).toEqual(['node-1-b/raw.json', 'node-1.json', 'node-1/raw.json']);
  });

  it('ensureBucket is idempotent and creates a missing bucket', async () => {
    await store.ensureBucket();
    await store.ensureBucket();

    const fresh = new ArtifactStore({ client, bucket: uniquePrefix('bucket') });
    await expect(fresh.ping()).rejects.toBeInstanceOf(ServiceUnavailableError);
    await Promise.all([fresh.ensureBucket(), fresh.ensureBucket()]);
    await fresh.ensureBucket();
    await expect(fresh.ping()).resolves.toBeUndefined();
    await fresh.put('k.txt', 'x', 'text/plain; charset=utf-8');
    expect((await fresh.get('k.txt')).body.toString()).toBe('x');
  });

  it('ping succeeds on the configured bucket', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it('probes the bucket only by listing under the investigations/ prefix, the one grant a deployment gives', async () => {
    // A recording HTTP proxy in front of the S3 server: what the readiness probe and the start-up check ask for.
    const seen: string[] = [];
    const s3 = inject('s3');
    const target = new URL(s3.endpoint);
    const proxy = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      const up = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      req.pipe(up);
    });
    await new Promise<void>((ok) => proxy.listen(0, '127.0.0.1', ok));
    try {
      const { accessKeyId, secretAccessKey } = s3;
      const viaProxy = createS3Client({ endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, accessKeyId, secretAccessKey, region: 'us-east-1', forcePathStyle: true, limits: s3Limits(loadConfig({})) });
      const probed = new ArtifactStore({ client: viaProxy, bucket });
      await probed.ping();
      await probed.ensureBucket();
      expect(seen.length).toBe(2);
      for (const line of seen) {
        const url = new URL(line.split(' ')[1]!, 'http://x');
        expect(line.startsWith('GET '), line).toBe(true);
        expect(url.pathname.replace(/\/$/, '')).toBe(`/${bucket}`);
        expect(url.searchParams.get('prefix')).toBe('investigations/');
        expect(url.searchParams.get('max-keys')).toBe('1');
      }
      viaProxy.destroy();
    } finally {
      await new Promise((ok) => proxy.close(ok));
    }
  });

  it('returns the stored bytes via the raw client too (no SDK-side transformation)', async () => {
    const key = artifactKey(newInvestigationId(), 'report.html');
    await store.put(key, '<p>é</p>', 'text/html; charset=utf-8');
    const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(res.ContentLength).toBe(Buffer.byteLength('<p>é</p>'));
    expect(await res.Body?.transformToString()).toBe('<p>é</p>');
  });
});

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('startEmbeddedS3', () => {
  it('serves a pre-created bucket on a free loopback port and stop() closes it despite keep-alive sockets', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tracehound-s3-'));
    const s3 = await startEmbeddedS3({ dataDir, bucket: 'second', port: 0 });
    const own = createS3Client({
      endpoint: s3.endpoint,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      region: 'us-east-1',
      forcePathStyle: true,
      limits: s3Limits(loadConfig({})),
    });
    try {
      expect(s3.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const port = Number(new URL(s3.endpoint).port);
      const second = new ArtifactStore({ client: own, bucket: 'second' });
      await second.ping();
      await second.put('a.txt', 'hi', 'text/plain; charset=utf-8');
      expect((await second.get('a.txt')).body.toString()).toBe('hi');

      // The client still holds an idle keep-alive socket here; stop() must not wait for it to time out.
      const began = Date.now();
      await s3.stop();
      expect(Date.now() - began).toBeLessThan(1_000);
      expect(await accepts(port)).toBe(false);
      await s3.stop(); // idempotent
    } finally {
      own.destroy();
      await s3.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses to bind anything but loopback (it has no real authentication)', async () => {
    await expect(startEmbeddedS3({ dataDir: join(tmpdir(), 'unused'), bucket: 'x', host: '0.0.0.0' })).rejects.toThrow(
      /loopback only/,
    );
  });
});
