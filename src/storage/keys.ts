/**
 * Object key layout. Everything an investigation produces lives under one prefix so it can be listed,
 * served and expired together:
 *
 *   investigations/<id>/summary.json | report.md | report.html
 *   investigations/<id>/<step>/<node>/<file>
 *
 * An artifact's "name" is its path below that prefix ("errors/node-17/raw.json", "summary.json").
 */

/**
 * The one prefix of every key tracehound writes. Deployments grant access to it alone (infra/aws: object actions on
 * `investigations/*`, listing only under it), so even the readiness probe lists under it rather than asking about the
 * bucket as a whole.
 */
export const KEY_ROOT = 'investigations/';
const ROOT = KEY_ROOT;

/**
 * S3 caps keys at 1024 UTF-8 bytes; the prefix takes ~46 of them. 512 leaves headroom for longer ids and
 * for servers backed by filesystems (s3rver, MinIO) whose own path limits bite earlier.
 */
export const MAX_ARTIFACT_NAME_BYTES = 512;

export function investigationPrefix(id: string): string {
  if (!isSafeSegment(id)) throw new Error(`unsafe investigation id for a storage key: ${JSON.stringify(id)}`);
  return `${ROOT}${id}/`;
}

/** Throws rather than returning a key outside the investigation: callers pass names from playbooks and tools. */
export function artifactKey(id: string, name: string): string {
  if (!isSafeArtifactName(name)) throw new Error(`unsafe artifact name: ${JSON.stringify(name)}`);
  return investigationPrefix(id) + name;
}

/** Inverse of artifactKey; undefined for keys that belong to another investigation or are not valid names. */
export function artifactName(id: string, key: string): string | undefined {
  const prefix = investigationPrefix(id);
  if (!key.startsWith(prefix)) return undefined;
  const name = key.slice(prefix.length);
  return isSafeArtifactName(name) ? name : undefined;
}

// C0 controls, DEL and C1 controls: invisible in logs and UIs, and NUL truncates paths in some servers.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

function isSafeSegment(segment: string): boolean {
  if (segment === '' || segment === '.' || segment === '..') return false;
  return !segment.includes('/') && !segment.includes('\\') && !CONTROL_CHARS.test(segment);
}

/**
 * Validates a name taken from a URL (`GET /v1/investigations/:id/artifacts/<name>`) before it becomes a key.
 *
 * S3 itself treats keys as opaque, but filesystem-backed servers (s3rver, MinIO) and anyone who syncs the
 * bucket to disk do not, so `..`, `.`, empty segments, absolute paths and backslashes are refused.
 *
 * Percent signs are allowed and taken literally: the router decodes the URL exactly once, so `%2e%2e` arrives
 * here as a six-character segment, not as `..`; the SDK re-encodes it on the wire and it is stored verbatim.
 * Decoding again here would create the double-decoding bug it looks like it prevents.
 */
export function isSafeArtifactName(name: string): boolean {
  if (name === '') return false;
  const utf8 = Buffer.from(name, 'utf8');
  if (utf8.length > MAX_ARTIFACT_NAME_BYTES) return false;
  // Lone surrogates become U+FFFD in UTF-8, so the key stored would differ from the key asked for.
  if (utf8.toString('utf8') !== name) return false;
  return name.split('/').every(isSafeSegment);
}

/** Under KEY_ROOT like everything else (one grant, one expiry rule); `_` keeps it apart from every investigation id. */
const DIFF_ROOT = `${KEY_ROOT}_diffs/`;

/** The segment for "no node asked for": node names are DNS-1123 and cannot contain "_", so it names none. */
const ANY_NODE = '_any';

/**
 * Where a rendered differential flame graph is cached:
 *
 *   investigations/_diffs/<before id>/<after id>/<node | _any>/<normalized | raw>.svg
 *
 * Outside investigations/: it is not something an investigation produced, and is not listed with its artifacts.
 * The key holds everything the picture depends on — the ordered pair and the options — so one key is one picture.
 */
export function diffKey(beforeId: string, afterId: string, opts: { node?: string | undefined; normalize: boolean }): string {
  const node = opts.node ?? ANY_NODE;
  for (const segment of [beforeId, afterId, node]) {
    if (!isSafeSegment(segment)) throw new Error(`unsafe segment for a diff key: ${JSON.stringify(segment)}`);
  }
  return `${DIFF_ROOT}${beforeId}/${afterId}/${node}/${opts.normalize ? 'normalized' : 'raw'}.svg`;
}

const CONTENT_TYPES: ReadonlyArray<readonly [string, string]> = [
  ['.json', 'application/json'],
  ['.md', 'text/markdown; charset=utf-8'],
  ['.svg', 'image/svg+xml'],
  ['.html', 'text/html; charset=utf-8'],
  ['.folded', 'text/plain; charset=utf-8'],
  ['.txt', 'text/plain; charset=utf-8'],
];

export function contentTypeFor(name: string): string {
  const lower = name.toLowerCase();
  for (const [ext, type] of CONTENT_TYPES) if (lower.endsWith(ext)) return type;
  return 'application/octet-stream';
}
