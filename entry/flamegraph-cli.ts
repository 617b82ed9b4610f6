import { fstatSync, readFileSync, readSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { renderDiffFlamegraph } from '../src/flamegraph/diff.ts';
import type { FlamegraphOptions } from '../src/flamegraph/options.ts';
import { renderFlamegraph, renderFlamegraphChunks, FoldedInputError } from '../src/flamegraph/svg.ts';

export const FLAMEGRAPH_USAGE = `usage: tracehound flamegraph [options] < stacks.folded > flamegraph.svg
       tracehound flamegraph --diff [--no-normalize] [options] before.folded after.folded > diff.svg
  --title TEXT        title (default "Flame Graph")
  --subtitle TEXT     second title line
  --width PX          image width (default 1200)
  --height PX         frame height (default 16)
  --minwidth PX|N%    drop frames narrower than this (default 0.1 px)
  --colors PALETTE    hot mem io java js wakeup chain aqua green blue red yellow purple orange
  --inverted          icicle graph (root at the top)
  --reverse           merge stacks from the leaf
  --countname NAME    what counts are (default "samples")
  --nametype TEXT     tooltip prefix (default "Function:")
  --diff              differential graph: widths from the second profile, red = more, blue = fewer samples
  --no-normalize      with --diff: compare raw counts instead of scaling the first profile to the second's total`;

const Options = z
  .object({
    title: z.string().max(200).optional(),
    subtitle: z.string().max(200).optional(),
    width: z.coerce.number().int().min(100).max(100_000).optional(),
    height: z.coerce.number().int().min(4).max(200).optional(),
    minwidth: z
      .string()
      .regex(/^\d+(\.\d+)?%?$/, 'expected pixels (0.5) or a percentage (0.1%)')
      .optional(),
    colors: z.enum(['hot', 'mem', 'io', 'java', 'js', 'wakeup', 'chain', 'aqua', 'green', 'blue', 'red', 'yellow', 'purple', 'orange']).optional(),
    inverted: z.boolean().optional(),
    reverse: z.boolean().optional(),
    countname: z.string().max(50).optional(),
    nametype: z.string().max(50).optional(),
  })
  .strict();

/** `tracehound flamegraph`: folded stacks on stdin, SVG on stdout, so SREs can pipe any folded file through it. */
export interface CommandIo {
  /** Byte chunks from the process (the renderer's fast path, never the whole input at once); tests may hand a string. */
  stdin(): string | Iterable<Uint8Array>;
  /** The size of stdin when it is a file (`< profile.folded`), else undefined. */
  stdinSize?(): number | undefined;
  readFile(path: string): string;
  stdout(s: string): void;
  stderr(s: string): void;
}

export function runFlamegraphCommand(argv: string[], io: CommandIo): number {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: {
        title: { type: 'string' }, subtitle: { type: 'string' }, width: { type: 'string' }, height: { type: 'string' },
        minwidth: { type: 'string' }, colors: { type: 'string' }, inverted: { type: 'boolean' }, reverse: { type: 'boolean' },
        countname: { type: 'string' }, nametype: { type: 'string' }, help: { type: 'boolean', short: 'h' },
        diff: { type: 'boolean' }, 'no-normalize': { type: 'boolean' },
      },
      strict: true,
      allowPositionals: true,
    }));
  } catch (err) {
    io.stderr(`${(err as Error).message}\n${FLAMEGRAPH_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    io.stdout(`${FLAMEGRAPH_USAGE}\n`);
    return 0;
  }
  const { help: _help, diff, 'no-normalize': noNormalize, ...rest } = values;
  if (diff ? positionals.length !== 2 : positionals.length !== 0) {
    io.stderr(`${diff ? '--diff needs two folded files: before and after' : `unexpected argument ${positionals[0]}`}\n${FLAMEGRAPH_USAGE}\n`);
    return 2;
  }
  const parsed = Options.safeParse(rest);
  if (!parsed.success) {
    io.stderr(`${parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('\n')}\n`);
    return 2;
  }
  const o = parsed.data;
  const options: FlamegraphOptions = {
    ...(o.title !== undefined ? { title: o.title } : {}),
    ...(o.subtitle !== undefined ? { subtitle: o.subtitle } : {}),
    ...(o.width !== undefined ? { width: o.width } : {}),
    ...(o.height !== undefined ? { frameHeight: o.height } : {}),
    ...(o.minwidth !== undefined ? { minWidth: o.minwidth.endsWith('%') ? (o.minwidth as `${number}%`) : Number(o.minwidth) } : {}),
    ...(o.colors !== undefined ? { colors: o.colors } : {}),
    ...(o.inverted ? { inverted: true } : {}),
    ...(o.reverse ? { reverse: true } : {}),
    ...(o.countname !== undefined ? { countName: o.countname } : {}),
    ...(o.nametype !== undefined ? { nameType: o.nametype } : {}),
  };
  try {
    if (diff) {
      const [before, after] = positionals.map((f) => io.readFile(f));
      io.stdout(renderDiffFlamegraph(before ?? '', after ?? '', { ...options, normalize: !noNormalize }));
    } else {
      const input = io.stdin();
      const bytes = io.stdinSize?.();
      io.stdout(typeof input === 'string' ? renderFlamegraph(input, options) : renderFlamegraphChunks(input, options, bytes ? { bytes } : {}));
    }
    return 0;
  } catch (err) {
    if (err instanceof FoldedInputError) {
      io.stderr(`${diff ? '' : 'stdin: '}${err.message}\n`);
      return 1;
    }
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'EISDIR') {
      io.stderr(`${e.message}\n`);
      return 1;
    }
    throw err;
  }
}

/** Read size of stdin: one buffer, reused, whatever the input's size (peak memory is the tree's, not the file's). */
const STDIN_CHUNK = 1 << 20;

function* stdinChunks(): Generator<Uint8Array> {
  const buf = Buffer.allocUnsafe(STDIN_CHUNK);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buf, 0, buf.length, null);
    } catch (err) {
      // A non-blocking stdin (a TTY or pipe some shells hand over) has nothing yet: wait for it rather than fail.
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      if ((err as NodeJS.ErrnoException).code === 'EOF') return;
      throw err;
    }
    if (n === 0) return;
    yield buf.subarray(0, n);
  }
}

export const processIo: CommandIo = {
  stdin: stdinChunks,
  stdinSize: () => {
    const st = fstatSync(0);
    return st.isFile() ? st.size : undefined;
  },
  readFile: (path) => readFileSync(path, 'utf8'),
  stdout: (s: string) => process.stdout.write(s),
  stderr: (s: string) => process.stderr.write(s),
};
