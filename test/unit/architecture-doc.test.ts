import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * docs/ARCHITECTURE.md names rooms and files as the place to look: every path it names in backticks must exist, so a
 * move that forgets the map fails here (the map says to change it in the same commit).
 */
const DOC = 'docs/ARCHITECTURE.md';
const ROOTS = /^(src|workers|bpf|entry|bin|bench|test|playbooks|infra|docs)\//;

function namedPaths(text: string): string[] {
  const paths = new Set<string>();
  for (const [, code] of text.matchAll(/`([^`\n]+)`/g)) {
    if (code && ROOTS.test(code) && !/[<*{ ]/.test(code)) paths.add(code.replace(/\/$/, ''));
  }
  return [...paths].sort();
}

describe('docs/ARCHITECTURE.md', () => {
  const text = readFileSync(DOC, 'utf8');

  it('names only paths that exist', () => {
    const named = namedPaths(text);
    expect(named.length).toBeGreaterThan(20);
    expect(named.filter((p) => !existsSync(p))).toEqual([]);
  });

  it('is linked from the README', () => {
    expect(readFileSync('README.md', 'utf8')).toContain('](docs/ARCHITECTURE.md)');
  });
});
