/**
 * `npm run gen:triage`: writes triage's program.bt from the programs of the tools it joins (parts.ts), so a change to
 * one of them reaches triage by regenerating, not by someone remembering to copy it. join.test.ts fails while the
 * committed program.bt differs from what this writes.
 *
 * Each part is its tool's program with every map renamed with the part's prefix (`@x` → `@sc_x`, `@` alone →
 * `@sc_`), in code and in the comments inside probes but never inside a string literal, and every positional
 * parameter moved to the joint layout. The BEGIN blocks become one, and so do the END blocks (bpftrace 0.17 refuses
 * a second one: "More than one BEGIN probe defined"): each part's body in turn, its scratch variables prefixed too,
 * as they now share a probe. Other probes may repeat (two `interval:ms:100` are two timers, which 0.17 accepts), so
 * they stay as they are. Top-level comments (each tool's own notes, which speak of its own numbering) stay in the
 * tool's file. What would reach beyond its own part once joined is refused: output statements, whose lines carry no
 * map prefix and so would reach every part's parser; a `return` in a block that gets merged, which would skip the
 * parts after it; and exit(), which ends every part, unless parts.ts says why that is acceptable (`joint.exit`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tools } from '../../index.ts';
import { JOINT_LAYOUT, JOINT_PARAMS, TRIAGE_PARTS, positionalMap } from './parts.ts';
import { JoinError, type ProbeBlock, type Segment, codeOf, probeBlocks, probesOf, render } from './source.ts';

export const PROGRAM_FILE = fileURLToPath(new URL('./program.bt', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

type Part = (typeof TRIAGE_PARTS)[number];

/** One part's input: its entry in parts.ts, its program's text and where that came from (for the header). */
export interface PartSource {
  part: Part;
  path: string;
  source: string;
}

/** The programs of every part, read from where each tool's manifest says its program is. */
export function readParts(): PartSource[] {
  return TRIAGE_PARTS.map((part) => {
    const tool = tools[part.tool];
    if (tool?.kind !== 'bpftrace') throw new JoinError(`${part.tool} is not a bpftrace tool: it has no program to join`);
    return { part, path: relative(ROOT, tool.programFile), source: readFileSync(tool.programFile, 'utf8') };
  });
}

const MERGED = ['BEGIN', 'END'] as const;
/** Statements that print lines of their own: no map prefix, so every part's parser would read them. */
const OUTPUT = /\b(printf|time|cat|system|join)\s*\(|\bprint\s*\(\s*[^@\s]/;

/** The whole joint program, header first. */
export function joinPrograms(parts: readonly PartSource[]): string {
  const merged = new Map<(typeof MERGED)[number], string[]>(MERGED.map((m) => [m, []]));
  const sections: string[] = [];
  for (const p of parts) {
    const blocks = probeBlocks(p.source).map((b) => rewriteBlock(p.part, b));
    const own: string[] = [];
    for (const b of blocks) {
      const probes = probesOf(b.header);
      const special = MERGED.find((m) => probes.includes(m));
      if (special === undefined) {
        own.push(`${render(b.header)}\n{${render(b.body)}}`);
        continue;
      }
      if (render(b.header) !== special) throw new JoinError(`${p.part.tool}: ${special} with other probes or a predicate cannot be merged: ${render(b.header)}`);
      if (/\breturn\b/.test(codeOf(b.body))) {
        throw new JoinError(`${p.part.tool}: a return in ${special} would skip the parts after it once merged`);
      }
      // A body on the braces' lines (`END { @x = 1; }`) gets a line of its own, indented like the others.
      const text = render(prefixScratch(p.part, b.body));
      const body = text.includes('\n') ? text.replace(/^\s*\n/, '').trimEnd() : `  ${text.trim()}`;
      merged.get(special)!.push(`  // ${p.part.tool}\n${body}`);
    }
    sections.push(`// ---- ${p.part.tool} (${p.path}) ----\n${own.join('\n\n')}`);
  }
  const block = (name: (typeof MERGED)[number]) => (merged.get(name)!.length === 0 ? [] : [`${name}\n{\n${merged.get(name)!.join('\n')}\n}`]);
  return `${[header(parts), ...block('BEGIN'), ...sections, ...block('END')].join('\n\n')}\n`;
}

/** The block with its maps prefixed and its positional parameters moved; refused if it reaches beyond its part. */
function rewriteBlock(part: Part, block: ProbeBlock): ProbeBlock {
  const moved = positionalMap(part);
  const code = codeOf([...block.header, ...block.body]);
  if (/\bexit\s*\(/.test(code) && !('joint' in part && part.joint.exit)) {
    throw new JoinError(`${part.tool}: exit() would end every part of the joint program; say in parts.ts (joint.exit) why that is acceptable`);
  }
  if (OUTPUT.test(code)) throw new JoinError(`${part.tool}: its output statement prints lines without a map prefix, which reach every part's parser`);
  const rewrite = (seg: Segment): Segment => {
    if (seg.kind === 'string') return seg;
    if (seg.kind === 'comment') {
      // Prose: only what names a map or a parameter of this part.
      const text = seg.text.replace(/(?<![\w@$])@(?=\w)/g, `@${part.prefix}_`).replace(/\$(\d+)\b/g, (m, n: string) => (moved.has(Number(n)) ? `$${moved.get(Number(n))}` : m));
      return { kind: 'comment', text };
    }
    const text = seg.text
      .replace(/(?<![\w@$])@(\w*)/g, (_m, name: string) => `@${part.prefix}_${name}`)
      .replace(/\$(\d+|#)/g, (m, n: string) => {
        if (n === '#') throw new JoinError(`${part.tool}: $# counts the joint program's parameters, not its own`);
        const to = moved.get(Number(n));
        if (to === undefined) throw new JoinError(`${part.tool}: ${m} is none of the parameters its manifest passes (parts.ts gives it ${moved.size})`);
        return `$${to}`;
      });
    return { kind: 'code', text };
  };
  return { header: block.header.map(rewrite), body: block.body.map(rewrite) };
}

/** In a block that several parts share once merged, each part's scratch variables take its prefix too. */
function prefixScratch(part: Part, body: readonly Segment[]): Segment[] {
  return body.map((s) => (s.kind === 'code' ? { kind: 'code', text: s.text.replace(/\$([A-Za-z_]\w*)/g, `$${part.prefix}_$1`) } : s));
}

/** "$k..$l→$m..$n" runs of one part's parameter moves. */
function moves(part: Part): string {
  const runs: [number, number, number][] = [];
  for (const [own, to] of positionalMap(part)) {
    const last = runs[runs.length - 1];
    if (last && own === last[1] + 1 && to === last[2] + (last[1] - last[0]) + 1) last[1] = own;
    else runs.push([own, own, to]);
  }
  const span = (a: number, b: number) => (a === b ? `$${a}` : `$${a}..$${b}`);
  return runs.map(([a, b, to]) => `${span(a, b)}→${span(to, to + b - a)}`).join(', ');
}

const WIDTH = 116;

/** Prose wrapped into comment lines (` * …`) of at most WIDTH characters. */
function wrap(text: string, indent = ''): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && ` * ${indent}${line} ${word}`.length > WIDTH) {
      lines.push(` * ${indent}${line}`);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(` * ${indent}${line}`);
  return lines;
}

function header(parts: readonly PartSource[]): string {
  const names = parts.map((p) => p.part.tool);
  const pad = Math.max(...names.map((n) => n.length)) + 2;
  const col = Math.max(...JOINT_LAYOUT.map((l) => `$${l.params[0]}..$${l.params[1]}`.length)) + 2;
  const exits = parts.flatMap((p) => ('joint' in p.part && p.part.joint.exit ? [`${p.part.tool} calls exit(): ${p.part.joint.exit}.`] : []));
  return [
    '/*',
    ...wrap(
      `GENERATED by bpf/bpftrace/triage/join.ts (\`npm run gen:triage\`) from ${parts.map((p) => p.path).join(', ')} and parts.ts: do not edit. Change the tool's own program (or how it joins, in parts.ts) and regenerate; join.test.ts fails while this file differs from what join.ts writes.`,
    ),
    ' *',
    ...wrap(
      `triage: the kernel signals of the triage checklist in one program, so one bpftrace starts, attaches and stops instead of ${parts.length} (each costs 2-5 s to start on a small node, and the agent runs two at a time). Each part is its tool's program, its probes as they are there, with its maps prefixed (${parts.map((p) => `@${p.part.prefix}_ ${p.part.tool}`).join(', ')}) and its positional parameters moved to this layout; the parser (parser.ts) splits the output by prefix and hands each tool's maps, renamed back, to that tool's own parser. BEGIN and END are merged: one each, every part's body in turn.`,
    ),
    ' *',
    ` * Parameters (${JOINT_PARAMS}):`,
    ...JOINT_LAYOUT.map((l) => ` *   ${(l.params[0] === l.params[1] ? `$${l.params[0]}` : `$${l.params[0]}..$${l.params[1]}`).padEnd(col)}${l.what}`),
    " * Each part's own parameters moved here:",
    ...parts.map((p) => ` *   ${p.part.tool.padEnd(pad)}${moves(p.part)}`),
    ...(exits.length > 0 ? [' *', ...exits.flatMap((e) => wrap(e))] : []),
    ' */',
  ].join('\n');
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const text = joinPrograms(readParts());
  writeFileSync(PROGRAM_FILE, text);
  console.log(`wrote ${relative(ROOT, PROGRAM_FILE)} (${text.length} bytes) from ${TRIAGE_PARTS.length} programs`);
}
