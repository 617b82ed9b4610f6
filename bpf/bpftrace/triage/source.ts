/**
 * Just enough of bpftrace's syntax to join programs (join.ts): the text split into code, comments and string
 * literals, so map names and positional parameters are rewritten in code and never inside a string a program prints,
 * and the top level split into probe blocks (probes and predicate, then a braced body).
 */

export interface Segment {
  kind: 'code' | 'comment' | 'string';
  text: string;
}

export interface ProbeBlock {
  /** The probes and predicate before the body, top-level comments left out, trimmed. */
  header: Segment[];
  /** What is between the body's braces (not the braces), comments included. */
  body: Segment[];
}

/** A program join.ts cannot take apart, or cannot join without changing what it does. */
export class JoinError extends Error {
  override name = 'JoinError';
}

/** The program's text as code, comments (`//…` to the end of the line, `/*…*\/`) and string literals (`"…"`). */
export function segments(source: string): Segment[] {
  const out: Segment[] = [];
  let code = '';
  const flush = () => {
    if (code !== '') out.push({ kind: 'code', text: code });
    code = '';
  };
  let i = 0;
  while (i < source.length) {
    const two = source.slice(i, i + 2);
    let end = -1;
    let kind: Segment['kind'] = 'comment';
    if (two === '/*') {
      end = source.indexOf('*/', i + 2);
      if (end < 0) throw new JoinError(`unterminated /* comment at offset ${i}`);
      end += 2;
    } else if (two === '//') {
      end = source.indexOf('\n', i);
      if (end < 0) end = source.length;
    } else if (source[i] === '"') {
      kind = 'string';
      end = i + 1;
      while (end < source.length && source[end] !== '"' && source[end] !== '\n') end += source[end] === '\\' ? 2 : 1;
      if (source[end] !== '"') throw new JoinError(`unterminated string at offset ${i}`);
      end += 1;
    }
    if (end < 0) {
      code += source[i];
      i += 1;
      continue;
    }
    flush();
    out.push({ kind, text: source.slice(i, end) });
    i = end;
  }
  flush();
  return out;
}

/** Top-level text that is no probe: bpftrace's other top-level items, which a joined program would need once. */
const NOT_A_PROBE = /^(#|;|(struct|union|enum|config|macro|import|let)\b)/;

/** The program's probe blocks in order. Anything at the top level but comments and probe blocks is refused. */
export function probeBlocks(source: string): ProbeBlock[] {
  const blocks: ProbeBlock[] = [];
  let header: Segment[] = [];
  let body: Segment[] = [];
  let depth = 0;
  const headerCode = () => header.map((s) => s.text).join('').trim();
  for (const seg of segments(source)) {
    if (seg.kind !== 'code') {
      if (depth > 0) body.push(seg);
      else if (seg.kind === 'string') header.push(seg); // e.g. a quoted uprobe path; top-level comments are dropped
      continue;
    }
    let from = 0;
    for (let i = 0; i < seg.text.length; i++) {
      const c = seg.text[i];
      if (c === '{') {
        if (depth === 0) {
          header.push({ kind: 'code', text: seg.text.slice(from, i) });
          from = i + 1;
          const text = headerCode();
          if (text === '') throw new JoinError('a body without probes');
          if (NOT_A_PROBE.test(text)) throw new JoinError(`not a probe, and only probes can be joined: ${JSON.stringify(text.slice(0, 60))}`);
        }
        depth += 1;
      } else if (c === '}') {
        if (depth === 0) throw new JoinError('a closing brace without its opening one');
        depth -= 1;
        if (depth === 0) {
          body.push({ kind: 'code', text: seg.text.slice(from, i) });
          from = i + 1;
          blocks.push({ header: trimSegments(header), body: body.filter((s) => s.text !== '') });
          header = [];
          body = [];
        }
      }
    }
    (depth > 0 ? body : header).push({ kind: 'code', text: seg.text.slice(from) });
  }
  if (depth > 0) throw new JoinError('a body is not closed');
  if (headerCode() !== '') throw new JoinError(`text after the last probe body: ${JSON.stringify(headerCode().slice(0, 60))}`);
  return blocks;
}

/** Segments with adjacent code joined, the whitespace around the whole trimmed and the empty ones gone. */
function trimSegments(segs: Segment[]): Segment[] {
  const merged: Segment[] = [];
  for (const s of segs) {
    const prev = merged[merged.length - 1];
    if (prev?.kind === 'code' && s.kind === 'code') merged[merged.length - 1] = { kind: 'code', text: prev.text + s.text };
    else merged.push(s);
  }
  const n = merged.length;
  if (merged[0]?.kind === 'code') merged[0] = { kind: 'code', text: merged[0].text.trimStart() };
  if (merged[n - 1]?.kind === 'code') merged[n - 1] = { kind: 'code', text: merged[n - 1]!.text.trimEnd() };
  return merged.filter((s) => s.text !== '');
}

export const render = (segs: readonly Segment[]): string => segs.map((s) => s.text).join('');

/** The code alone, for looking for statements: every string literal as `""`, every comment as a space. */
export const codeOf = (segs: readonly Segment[]): string => segs.map((s) => (s.kind === 'code' ? s.text : s.kind === 'string' ? '""' : ' ')).join('');

/** The header's probes as written (`tracepoint:a:b`, `BEGIN`), the predicate left out. */
export function probesOf(header: readonly Segment[]): string[] {
  // A predicate opens with a '/' that follows whitespace or a comma-free end of the last probe; probes themselves
  // may hold '/' only inside a path (uprobe:/usr/bin/x:f), which never follows whitespace.
  const text = render(header);
  const predicate = /\s\/(?!\/)/.exec(text) ?? /^\//.exec(text);
  return (predicate ? text.slice(0, predicate.index) : text)
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}
