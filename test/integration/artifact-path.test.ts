import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactKey } from '../../src/storage/keys.ts';
import { testS3 } from '../helpers/services.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

/** GET /v1/investigations/:id/artifacts/<name>: the name is percent-decoded exactly once, and malformed is a 400. */
describe('artifact paths', () => {
  let sys: TestSystem;
  const s3 = testS3();
  let id: string;
  // Literal percent signs and a colon in stored names: each request below must map to exactly one of them.
  const stored: Record<string, string> = {
    'notes/100%41.txt': 'the name holds "%41" literally',
    'notes/100A.txt': 'the name holds "A"',
    'notes/50%25.txt': 'the name holds "%25" literally',
    'notes/a:b.txt': 'a colon',
    'notes/résumé.txt': 'UTF-8',
  };
  const get = (rawName: string) => sys.get(`/v1/investigations/${id}/artifacts/${rawName}`);

  beforeAll(async () => {
    sys = await startSystem({ parts: ['api'] });
    id = (await sys.post('/v1/investigations', { playbook: 'enospc', target: { node: 'test-node' } })).json.id as string;
    for (const [name, text] of Object.entries(stored)) await s3.store.put(artifactKey(id, name), text, 'text/plain; charset=utf-8');
  });
  afterAll(async () => {
    await sys?.stop();
    s3.client.destroy();
  });

  it('round-trips every name encoded once per segment', async () => {
    for (const [name, text] of Object.entries(stored)) {
      const res = await get(name.split('/').map(encodeURIComponent).join('/'));
      expect(res.status, name).toBe(200);
      expect(res.text, name).toBe(text);
    }
  });

  it('decodes once: "%2541" names "%41", "%41" names "A", "%2525" names "%25", "%25" names "%"', async () => {
    expect((await get('notes/100%2541.txt')).text).toBe(stored['notes/100%41.txt']);
    expect((await get('notes/100%41.txt')).text).toBe(stored['notes/100A.txt']);
    expect((await get('notes/50%2525.txt')).text).toBe(stored['notes/50%25.txt']);
    // "50%.txt", which is not stored (a second decoding would choke on the "%." it left).
    const once = await get('notes/50%25.txt');
    expect(once.status).toBe(404);
    expect(once.json.detail).toContain('notes/50%.txt');
  });

  it.each([
    ['a truncated escape', '%E0%A4%A'],
    ['a lone percent', 'notes/100%.txt'],
    // Decoding twice would read "%3%41" as "%3A" after the first pass and ":" after the second, serving a:b.txt.
    ['an escape that only a second decoding completes', 'notes/a%3%41b.txt'],
  ])('answers %s with 400 naming `path`, never 500', async (_what, rawName) => {
    const res = await get(rawName);
    expect(res.status).toBe(400);
    expect(res.contentType).toBe('application/problem+json');
    expect(res.json.errors).toEqual([expect.objectContaining({ path: 'path' })]);
  });
});
