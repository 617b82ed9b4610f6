/**
 * Readers for the SVG the flame graph renderers write (src/flamegraph/svg.ts, diff.ts): a strict XML
 * well-formedness check, and the frames as FLAMEGRAPH_SCRIPT sees them.
 */

/**
 * A strict XML 1.0 well-formedness check for what the renderer writes: prolog, doctype, comments, CDATA, elements
 * with quoted attributes, the five predefined entities and numeric references, no invalid chars, balanced tags.
 */
export function assertWellFormed(xml: string): void {
  // eslint-disable-next-line no-control-regex
  const invalid = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
  if (invalid.test(xml)) throw new Error('char not allowed in XML 1.0');
  const name = '[A-Za-z_:][-A-Za-z0-9_:.]*';
  const attr = `\\s+${name}\\s*=\\s*(?:"[^"<&]*(?:&(?:amp|lt|gt|quot|apos|#\\d+|#x[0-9a-fA-F]+);[^"<&]*)*"|'[^'<&]*(?:&(?:amp|lt|gt|quot|apos|#\\d+|#x[0-9a-fA-F]+);[^'<&]*)*')`;
  const openTag = new RegExp(`^<(${name})((?:${attr})*)\\s*(/?)>`);
  const closeTag = new RegExp(`^</(${name})\\s*>`);
  const textRe = /^[^<&]+/;
  const entity = /^&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/;
  let i = 0;
  const rest = () => xml.slice(i, i + 200);
  const stack: string[] = [];
  let sawRoot = false;
  while (i < xml.length) {
    const s = rest();
    if (s.startsWith('<?xml')) {
      if (i !== 0) throw new Error('XML declaration not at start');
      i = xml.indexOf('?>', i) + 2;
    } else if (s.startsWith('<!--')) {
      const end = xml.indexOf('-->', i + 4);
      if (end < 0) throw new Error('unterminated comment');
      const body = xml.slice(i + 4, end);
      if (body.includes('--') || body.endsWith('-')) throw new Error('"--" inside a comment');
      i = end + 3;
    } else if (s.startsWith('<!DOCTYPE')) {
      if (sawRoot) throw new Error('doctype after root');
      i = xml.indexOf('>', i) + 1;
    } else if (s.startsWith('<![CDATA[')) {
      if (stack.length === 0) throw new Error('CDATA outside the root');
      const end = xml.indexOf(']]>', i);
      if (end < 0) throw new Error('unterminated CDATA');
      i = end + 3;
    } else if (s.startsWith('</')) {
      const m = closeTag.exec(xml.slice(i));
      if (!m) throw new Error(`bad close tag at ${i}: ${s}`);
      if (stack.pop() !== m[1]) throw new Error(`mismatched </${m[1]}> at ${i}`);
      i += m[0].length;
    } else if (s.startsWith('<')) {
      const m = openTag.exec(xml.slice(i, i + 100_000));
      if (!m) throw new Error(`bad tag at ${i}: ${s}`);
      if (stack.length === 0 && sawRoot) throw new Error('second root element');
      sawRoot = true;
      const names = [...m[2]!.matchAll(new RegExp(`\\s+(${name})\\s*=`, 'g'))].map((a) => a[1]);
      if (new Set(names).size !== names.length) throw new Error(`duplicate attribute at ${i}`);
      if (m[3] !== '/') stack.push(m[1]!);
      i += m[0].length;
    } else if (s.startsWith('&')) {
      const m = entity.exec(s);
      if (!m) throw new Error(`bad entity at ${i}: ${s.slice(0, 20)}`);
      if (stack.length === 0) throw new Error('text outside the root');
      i += m[0].length;
    } else {
      const m = textRe.exec(xml.slice(i, i + 100_000))!;
      if (stack.length === 0 && m[0].trim() !== '') throw new Error(`text outside the root at ${i}`);
      if (m[0].includes(']]>')) throw new Error('"]]>" in text');
      i += m[0].length;
    }
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.join('>, <')}>`);
  if (!sawRoot) throw new Error('no root element');
}

export interface Frame {
  name: string;
  info: string;
  x: number;
  y: number;
  width: number;
  fill: string;
  label: string;
}

const unescape = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

/** The frames of a rendered graph, in document order (the structure FLAMEGRAPH_SCRIPT reads). */
export function frames(svg: string): Frame[] {
  const re =
    /<g><title>([^<]*)<\/title><rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="[\d.]+" fill="([^"]+)"[^>]*\/><text [^>]*>([^<]*)<\/text><\/g>/g;
  return [...svg.matchAll(re)].map((m) => {
    const info = unescape(m[1]!);
    return {
      info,
      name: info.slice(0, info.lastIndexOf(' (')),
      x: Number(m[2]),
      y: Number(m[3]),
      width: Number(m[4]),
      fill: m[5]!,
      label: unescape(m[6]!),
    };
  });
}

export function byName(svg: string): Map<string, Frame> {
  return new Map(frames(svg).map((f) => [f.name, f]));
}
