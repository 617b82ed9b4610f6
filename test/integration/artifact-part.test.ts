import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactKey } from '../../src/storage/keys.ts';
import { testS3 } from '../helpers/services.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

/** GET …/artifacts/<name>?lines=a-b and ?pointer=/rows/n: exactly the part a finding's evidence points at. */
describe('artifact parts', () => {
  let sys: TestSystem;
  const s3 = testS3();
  let id: string;
  const result = { rows: [{ syscall: 'write', errno: 'ENOSPC', count: 48 }, { syscall: 'mount', errno: 'ENOSPC', count: 3 }], 'a/b': { '~x': 1 }, totalEvents: 51 };
  const get = (q: string, name = 'errors/node-17/result.json') => sys.get(`/v1/investigations/${id}/artifacts/${name}?${q}`);

  beforeAll(async () => {
    sys = await startSystem({ parts: ['api'] });
    id = (await sys.post('/v1/investigations', { playbook: 'enospc', target: { node: 'test-node' } })).json.id as string;
    await s3.store.put(artifactKey(id, 'errors/node-17/raw.txt'), 'one\ntwo\nthree\nfour\nfive\n', 'text/plain; charset=utf-8');
    await s3.store.put(artifactKey(id, 'errors/node-17/result.json'), JSON.stringify(result, null, 2), 'application/json');
  });
  afterAll(async () => {
    await sys?.stop();
    s3.client.destroy();
  });

  it('answers a line range of a text artifact, and the end of a range past the last line with what there is', async () => {
    const res = await get('lines=2-3', 'errors/node-17/raw.txt');
    expect(res.status).toBe(200);
    expect(res.contentType).toBe('text/plain; charset=utf-8');
    expect(res.text).toBe('two\nthree\n');
    expect((await get('lines=4-9', 'errors/node-17/raw.txt')).text).toBe('four\nfive\n');
  });

  it('answers the value at a JSON pointer, escapes included', async () => {
    const row = await get(`pointer=${encodeURIComponent('/rows/1')}`);
    expect(row.status).toBe(200);
    expect(row.json).toEqual(result.rows[1]);
    expect((await get(`pointer=${encodeURIComponent('/a~1b/~0x')}`)).json).toBe(1);
    expect((await get('')).json).toEqual(result);
  });

  it('refuses what points at nothing, naming the field', async () => {
    const past = await get('lines=9-10', 'errors/node-17/raw.txt');
    expect(past.status).toBe(400);
    expect(past.json.errors).toEqual([{ path: 'query.lines', message: 'errors/node-17/raw.txt has 5 lines' }]);
    expect((await get('lines=3-2', 'errors/node-17/raw.txt')).json.errors).toEqual([expect.objectContaining({ path: 'query.lines' })]);
    expect((await get('lines=0-2', 'errors/node-17/raw.txt')).status).toBe(400);
    const missing = await get(`pointer=${encodeURIComponent('/rows/2')}`);
    expect(missing.status).toBe(404);
    expect(missing.json.detail).toContain('nothing at /rows/2');
    expect((await get('pointer=rows')).json.errors).toEqual([expect.objectContaining({ path: 'query.pointer' })]);
    const text = await get(`pointer=${encodeURIComponent('/0')}`, 'errors/node-17/raw.txt');
    expect(text.json.errors).toEqual([{ path: 'query.pointer', message: 'errors/node-17/raw.txt is not JSON: ask for lines instead' }]);
    expect((await get('lines=1-2&pointer=/rows/0')).status).toBe(400);
  });
});
