import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

describe('configuration', () => {
  it('has embedded defaults when nothing is set', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ PORT: 8080, HOST: '127.0.0.1', S3_BUCKET: 'tracehound', CAPTURE_KILL_GRACE: 2000, CAPTURE_MAX_DURATION: 120_000 });
    expect(c.REDIS_URL).toBeUndefined();
    expect(c.S3_ENDPOINT).toBeUndefined();
  });

  it('asks for a hash tag in QUEUE_PREFIX on a Redis Cluster, where multi-key scripts need one slot', () => {
    expect(() => loadConfig({ REDIS_CLUSTER: 'true' })).toThrow(/QUEUE_PREFIX: with REDIS_CLUSTER=true it needs a hash tag/);
    expect(loadConfig({ REDIS_CLUSTER: 'true', QUEUE_PREFIX: '{tracehound}' }).REDIS_CLUSTER).toBe(true);
    expect(loadConfig({}).REDIS_CLUSTER).toBe(false);
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ REDIS_URL: '', S3_ENDPOINT: '' }).REDIS_URL).toBeUndefined();
  });

  it('names every invalid variable', () => {
    let err: unknown;
    try {
      loadConfig({ PORT: 'eighty', REDIS_URL: 'http://x', CAPTURE_KILL_GRACE: 'later', NODE_NAME: 'Node_17', S3_FORCE_PATH_STYLE: 'maybe' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    for (const v of ['PORT', 'REDIS_URL', 'CAPTURE_KILL_GRACE', 'NODE_NAME', 'S3_FORCE_PATH_STYLE']) expect(msg).toContain(`${v}:`);
  });

  it('reads durations and URLs', () => {
    const c = loadConfig({ REDIS_URL: 'redis://10.0.0.5:6379', CAPTURE_MAX_DURATION: '30s', S3_ENDPOINT: 'http://minio:9000' });
    expect(c.REDIS_URL).toBe('redis://10.0.0.5:6379');
    expect(c.CAPTURE_MAX_DURATION).toBe(30_000);
  });
});
