/**
 * RFC 6901 JSON pointers: how evidence names the rows of a stored result.json that support a finding ("/rows/3"),
 * so a reader (and the API) can open exactly those.
 */

const escape = (segment: string | number) => String(segment).replace(/~/g, '~0').replace(/\//g, '~1');
const unescape = (segment: string) => segment.replace(/~1/g, '/').replace(/~0/g, '~');

/** ["namespaces", 3] → "/namespaces/3". */
export const jsonPointer = (segments: readonly (string | number)[]) => segments.map((s) => `/${escape(s)}`).join('');

/** The segments of a pointer ("" is the whole document). */
export const pointerSegments = (pointer: string): string[] => (pointer === '' ? [] : pointer.slice(1).split('/').map(unescape));

/** The value a pointer points at in `doc`, or undefined when it points at nothing (an index out of range, a missing key). */
export function resolvePointer(doc: unknown, pointer: string): unknown {
  let at: unknown = doc;
  for (const seg of pointerSegments(pointer)) {
    if (Array.isArray(at)) {
      if (!/^(0|[1-9]\d*)$/.test(seg)) return undefined;
      at = at[Number(seg)];
    } else if (at !== null && typeof at === 'object' && Object.hasOwn(at, seg)) {
      at = (at as Record<string, unknown>)[seg];
    } else {
      return undefined;
    }
  }
  return at;
}
