import { describe, expect, it } from 'vitest';
import { runFlamegraphCommand } from '../../src/flamegraph-cli.ts';

const run = (args: string[], stdin: string) => {
  let out = '';
  let err = '';
  const code = runFlamegraphCommand(args, { stdin: () => stdin, stdout: (s) => (out += s), stderr: (s) => (err += s) });
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

  it('refuses bad flags and malformed input with a message and a non-zero exit', () => {
    expect(run(['--width', 'wide'], 'a 1\n')).toMatchObject({ code: 2, err: expect.stringContaining('--width') });
    expect(run(['--bogus'], 'a 1\n')).toMatchObject({ code: 2, err: expect.stringContaining('usage: tracehound flamegraph') });
    expect(run([], 'a;b\n')).toMatchObject({ code: 1, err: expect.stringMatching(/^stdin: .*line 1/) });
  });
});
