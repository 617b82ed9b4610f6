import { describe, expect, it } from 'vitest';
import { runFlamegraphCommand } from '../../entry/flamegraph-cli.ts';

const files: Record<string, string> = {
  'before.folded': 'app;main;work 5\napp;main;idle 5\n',
  'after.folded': 'app;main;work 8\napp;main;idle 2\n',
};

const run = (args: string[], stdin: string) => {
  let out = '';
  let err = '';
  const readFile = (p: string) => {
    const f = files[p];
    if (f === undefined) throw Object.assign(new Error(`ENOENT: no such file, open '${p}'`), { code: 'ENOENT' });
    return f;
  };
  const code = runFlamegraphCommand(args, { stdin: () => stdin, readFile, stdout: (s) => (out += s), stderr: (s) => (err += s) });
  return { code, out, err };
};

describe('tracehound flamegraph', () => {
  it('turns folded stacks on stdin into an SVG on stdout, with the options applied', () => {
    const r = run(['--title', 'My <app>', '--width', '800', '--colors', 'io', '--countname', 'bytes'], 'app;main;work 3\napp;main;idle 1\n');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^<\?xml|^<svg/);
    expect(r.out).toContain('My &lt;app&gt;');
    expect(r.out).toContain('width="800"');
    expect(r.out).toMatch(/work \(3 bytes, 75(\.0+)?%\)/);
  });

  it('draws a differential graph of two folded files', () => {
    const r = run(['--diff', 'before.folded', 'after.folded'], '');
    expect(r.code).toBe(0);
    expect(r.out).toContain('<svg');
    expect(r.out).toMatch(/work \(8 samples/);
    expect(run(['--diff', 'before.folded'], '')).toMatchObject({ code: 2, err: expect.stringContaining('two folded files') });
    expect(run(['--diff', 'before.folded', 'missing.folded'], '')).toMatchObject({ code: 1, err: expect.stringContaining('ENOENT') });
  });

  it('refuses bad flags and malformed input with a message and a non-zero exit', () => {
    expect(run(['--width', 'wide'], 'a 1\n')).toMatchObject({ code: 2, err: expect.stringContaining('--width') });
    expect(run(['--bogus'], 'a 1\n')).toMatchObject({ code: 2, err: expect.stringContaining('usage: tracehound flamegraph') });
    expect(run([], 'a;b\n')).toMatchObject({ code: 1, err: expect.stringMatching(/^stdin: .*line 1/) });
  });
});
