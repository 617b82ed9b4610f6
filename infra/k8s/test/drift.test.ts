import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BASE_DIR, writeManifests } from '../src/synth.ts';

const STALE = 'infra/k8s/base differs from what infra/k8s/src generates: run `npm run synth:k8s` and commit base/';

describe('infra/k8s/base is what the code generates', () => {
  const fresh = mkdtempSync(join(tmpdir(), 'tracehound-k8s-'));
  afterAll(() => rmSync(fresh, { recursive: true, force: true }));
  writeManifests(fresh);
  const files = (dir: string) => readdirSync(dir).sort();

  it('has the same files', () => {
    expect(files(BASE_DIR), STALE).toEqual(files(fresh));
  });

  it.each(files(fresh))('%s is byte-equal', (file) => {
    expect(readFileSync(join(BASE_DIR, file), 'utf8'), `${file}: ${STALE}`).toBe(readFileSync(join(fresh, file), 'utf8'));
  });
});
