/**
 * The most one get_artifact page holds: 16 KiB of text, the same share of a model's context as a whole
 * get_investigation answer (INVESTIGATION_VIEW_BUDGET); a longer artifact is read page by page.
 */
export const ARTIFACT_PAGE_MAX = 16 * 1024;

/**
 * Content types read as text: what the agent and the orchestrator store as JSON, text, folded stacks, reports and
 * flame graphs (SVG is XML). Everything else (pprof's gzip, PNG thumbnails) is binary and refused.
 */
export function isTextContentType(contentType: string): boolean {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return (
    type.startsWith('text/') ||
    ['application/json', 'application/x-ndjson', 'application/xml', 'application/yaml', 'application/x-yaml'].includes(type) ||
    type.endsWith('+json') ||
    type.endsWith('+xml')
  );
}

export interface TextPage {
  /** Where this page starts and how many bytes it holds: UTF-8 bytes of the artifact, as `size` counts them. */
  offset: number;
  length: number;
  size: number;
  /** Where the next page starts, or null at the end. */
  nextOffset: number | null;
  text: string;
}

/** A byte that continues a UTF-8 character (10xxxxxx): no page starts or ends before one. */
const continues = (b: number | undefined) => b !== undefined && (b & 0xc0) === 0x80;

/**
 * One page of a text artifact: at most `limit` bytes from `offset`, both moved to whole characters (a page never
 * splits one; a limit smaller than the character at the start takes that character whole). Null when the bytes
 * are not UTF-8: a text type over binary content is still binary.
 */
export function textPage(bytes: Uint8Array, offset: number, limit: number): TextPage | null {
  const size = bytes.length;
  let start = Math.min(offset, size);
  while (start < size && continues(bytes[start])) start++;
  let end = Math.min(start + limit, size);
  while (end > start && end < size && continues(bytes[end])) end--;
  if (end === start && start < size) {
    end = start + 1;
    while (end < size && continues(bytes[end])) end++;
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(start, end));
  } catch {
    return null;
  }
  return { offset: start, length: end - start, size, nextOffset: end < size ? end : null, text };
}
