import { describe, expect, it } from 'vitest';
import {
  artifactKey,
  artifactName,
  contentTypeFor,
  diffKey,
  investigationPrefix,
  isSafeArtifactName,
  MAX_ARTIFACT_NAME_BYTES,
} from '../../src/storage/keys.ts';

const ID = 'inv_01j9z3k7q8r2s4t6v8w0x2y4z6';

describe('key layout', () => {
  it('puts everything for an investigation under one prefix', () => {
    expect(investigationPrefix(ID)).toBe(`investigations/${ID}/`);
    expect(artifactKey(ID, 'summary.json')).toBe(`investigations/${ID}/summary.json`);
    expect(artifactKey(ID, 'report.md')).toBe(`investigations/${ID}/report.md`);
    expect(artifactKey(ID, 'errors/node-17/raw.json')).toBe(`investigations/${ID}/errors/node-17/raw.json`);
  });

  it('maps keys back to names, and only for the same investigation', () => {
    expect(artifactName(ID, artifactKey(ID, 'errors/node-17/raw.json'))).toBe('errors/node-17/raw.json');
    expect(artifactName(ID, `investigations/${ID}x/summary.json`)).toBeUndefined();
    expect(artifactName(ID, `investigations/${ID}/`)).toBeUndefined();
    expect(artifactName(ID, `investigations/${ID}/a//b`)).toBeUndefined();
    expect(artifactName(ID, 'other/summary.json')).toBeUndefined();
  });

  it('refuses to build keys that would leave the investigation', () => {
    expect(() => artifactKey(ID, '../other/summary.json')).toThrow(/unsafe artifact name/);
    expect(() => artifactKey(ID, '/etc/passwd')).toThrow(/unsafe artifact name/);
    expect(() => investigationPrefix('..')).toThrow(/unsafe investigation id/);
    expect(() => investigationPrefix('a/b')).toThrow(/unsafe investigation id/);
    expect(() => investigationPrefix('')).toThrow(/unsafe investigation id/);
  });
});

describe('isSafeArtifactName', () => {
  it.each([
    ['summary.json', 'top-level file'],
    ['errors/node-17/raw.json', 'step/node/file'],
    ['cpu/node-1/flame.svg', 'flamegraph'],
    ['a.b/c..d/...', 'dots inside or beyond two are ordinary characters'],
    ['%2e%2e', 'percent-encoding is literal: the router decodes once, decoding again would be the bug'],
    ['errors/%2e%2e/raw.json', 'same, as a middle segment'],
    ['name with spaces.txt', 'spaces are legal in S3 keys'],
    ['ünïcödé/日本.json', 'non-ASCII'],
    ['x'.repeat(MAX_ARTIFACT_NAME_BYTES), 'exactly the byte limit'],
  ])('accepts %j (%s)', (name) => {
    expect(isSafeArtifactName(name)).toBe(true);
  });

  it.each([
    ['', 'empty'],
    ['..', 'parent'],
    ['../x', 'parent prefix'],
    ['a/../b', 'parent in the middle'],
    ['a/..', 'parent at the end'],
    ['.', 'current dir'],
    ['./x', 'current dir prefix'],
    ['a/./b', 'current dir in the middle'],
    ['a//b', 'empty segment'],
    ['a/', 'trailing slash (empty last segment)'],
    ['/abs', 'leading slash'],
    ['a\\b', 'backslash'],
    ['..\\x', 'windows-style parent'],
    ['a\u0000b', 'NUL'],
    ['a\nb', 'newline (log injection)'],
    ['a\tb', 'tab'],
    ['a\u007fb', 'DEL'],
    ['a\u0085b', 'C1 control'],
    ['a\ud800b', 'lone surrogate'],
    ['x'.repeat(MAX_ARTIFACT_NAME_BYTES + 1), 'over the byte limit'],
    ['é'.repeat(MAX_ARTIFACT_NAME_BYTES / 2 + 1), 'over the limit in bytes though not in characters'],
  ])('rejects %j (%s)', (name) => {
    expect(isSafeArtifactName(name)).toBe(false);
  });
});

describe('contentTypeFor', () => {
  it.each([
    ['summary.json', 'application/json'],
    ['errors/node-1/raw.JSON', 'application/json'],
    ['report.md', 'text/markdown; charset=utf-8'],
    ['cpu/node-1/flame.svg', 'image/svg+xml'],
    ['report.html', 'text/html; charset=utf-8'],
    ['cpu/node-1/stacks.folded', 'text/plain; charset=utf-8'],
    ['notes.txt', 'text/plain; charset=utf-8'],
    ['capture.bin', 'application/octet-stream'],
    ['json', 'application/octet-stream'],
    ['Makefile', 'application/octet-stream'],
  ])('%s -> %s', (name, type) => {
    expect(contentTypeFor(name)).toBe(type);
  });
});

describe('diff cache keys', () => {
  const OTHER = 'inv_01j9z3k7q8r2s4t6v8w0x2y4z7';

  it('holds the ordered pair and every option, outside investigations/', () => {
    expect(diffKey(ID, OTHER, { normalize: true })).toBe(`investigations/_diffs/${ID}/${OTHER}/_any/normalized.svg`);
    expect(diffKey(ID, OTHER, { normalize: false, node: 'node-17' })).toBe(`investigations/_diffs/${ID}/${OTHER}/node-17/raw.svg`);
    const keys = [
      diffKey(ID, OTHER, { normalize: true }),
      diffKey(OTHER, ID, { normalize: true }),
      diffKey(ID, OTHER, { normalize: false }),
      diffKey(ID, OTHER, { normalize: true, node: 'node-17' }),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('refuses segments that would leave the layout', () => {
    expect(() => diffKey('../x', OTHER, { normalize: true })).toThrow(/unsafe/);
    expect(() => diffKey(ID, OTHER, { normalize: true, node: 'a/b' })).toThrow(/unsafe/);
  });
});
