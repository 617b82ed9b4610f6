import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { z } from 'zod';
import { canSee } from '../../auth/authorize.ts';
import type { Identity } from '../../auth/identity.ts';
import { LINK_REQUESTER } from '../../auth/signed-links.ts';
import { InputTooLargeError, NotFoundError, NotImplementedError, ValidationError } from '../../core/errors.ts';
import { formatBytes } from '../../core/format.ts';
import { INVESTIGATION_ID, InvestigationId } from '../../core/ids.ts';
import { Routing } from '../../core/routing.ts';
import { Investigation, InvestigationRequest, InvestigationStatus, isTerminal, type ArtifactRef } from '../../core/investigation.ts';
import { NodeName } from '../../core/target.ts';
import { FOLDED_ARTIFACT, isFlamegraphSvg, isStepArtifact, thumbnailName } from '../../flamegraph/artifacts.ts';
import { cancelInvestigation } from '../../intake/cancel.ts';
import { startInvestigation } from '../../intake/start.ts';
import { diffCache } from '../../metrics.ts';
import { isSafeArtifactName, artifactKey, diffKey } from '../../storage/keys.ts';
import type { ApiDeps } from '../deps.ts';
import { ArtifactQuery, artifactPart } from './artifact-part.ts';
import { bytesResponse, defineRoute, jsonResponse, problemResponse } from '../route.ts';

/** The query string of GET /v1/investigations (the records' own page query is RecordsPageQuery). */
const ListInvestigationsQuery = z
  .object({
    status: InvestigationStatus.optional(),
    playbook: z.string().max(64).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().regex(INVESTIGATION_ID, 'not a cursor from a previous page').optional(),
  })
  .strict();


const DiffQuery = z
  .object({
    node: NodeName.optional(),
    normalize: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  })
  .strict();

/**
 * The artifact name of GET /v1/investigations/:id/artifacts/<name>, percent-decoded exactly once.
 *
 * Taken from the raw URL, not from c.req.path: Hono's path is already partly decoded (everything but %25 and the
 * reserved characters), so decoding it again turned "a%3%41b" into "a:b" in two steps — one character decoded by
 * each pass. Malformed escapes are a 400 naming `path`, not a URIError.
 */
function artifactPathName(url: string): string {
  const pathname = new URL(url).pathname;
  // ['', 'v1', 'investigations', ':id', 'artifacts', ...name]: decoding never makes or removes a "/" here, since
  // "%2F" is decoded only in this one pass, inside the name.
  const raw = pathname.split('/').slice(5).join('/');
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ValidationError('invalid artifact path', [{ path: 'path', message: 'malformed percent-encoding; encode each "%" of a name as "%25"' }]);
  }
}

/**
 * Refuses, before a byte is downloaded, a render whose stored inputs are over RENDER_MAX_INPUT together. Each input
 * may take an equal share; the errors name the request fields (`id`, `otherId`) whose data is over its share.
 */
function checkRenderInput(limit: number, inputs: { field: string; inv: Investigation; ref: ArtifactRef }[]): void {
  const total = inputs.reduce((n, i) => n + i.ref.size, 0);
  if (total <= limit) return;
  const share = limit / inputs.length;
  const sizes = inputs.map((i) => `${i.inv.id} ${formatBytes(i.ref.size)}`).join(', ');
  throw new InputTooLargeError(
    `${inputs.length === 1 ? 'the input' : 'the inputs together'} (${sizes}) ${inputs.length === 1 ? 'is' : 'are'} over ${formatBytes(limit)}, the most one render reads (RENDER_MAX_INPUT)`,
    inputs
      .filter((i) => i.ref.size > share)
      .map((i) => ({ path: i.field, message: `${i.inv.id}: ${i.ref.name} is ${formatBytes(i.ref.size)}` })),
  );
}

/**
 * Whether an investigation's artifacts can no longer change, so a picture drawn from them may be cached: it ended,
 * and no output of it waits in an agent's spool (a late upload adds stacks, or moves one to the end of the list).
 */
const settled = (inv: Investigation) => isTerminal(inv.status) && inv.steps.every((s) => !s.unstored?.length);

/** A response body over a stored object's bytes: a view, not a copy (`new Uint8Array(buffer)` copies, 30 MB at times). */
const bodyOf = (b: Buffer) => new Uint8Array(b.buffer as ArrayBuffer, b.byteOffset, b.byteLength);

const links = (id: string) => ({ self: `/v1/investigations/${id}`, report: `/v1/investigations/${id}/report` });

/** What changed since the last events: the status, and each (step, node) entry whose status or reason moved. */
function investigationEvents(inv: Investigation, sent: Map<string, string>, lastStatus: string): { event: string; data: string }[] {
  const out: { event: string; data: string }[] = [];
  if (inv.status !== lastStatus) {
    out.push({ event: 'status', data: JSON.stringify({ id: inv.id, status: inv.status, ...(inv.reason ? { reason: inv.reason } : {}) }) });
  }
  for (const s of inv.steps) {
    const key = `${s.id}/${s.node ?? ''}`;
    const view = { id: s.id, node: s.node, tool: s.tool, status: s.status, ...(s.reason ? { reason: s.reason } : {}) };
    const text = JSON.stringify(view);
    if (sent.get(key) !== text) {
      sent.set(key, text);
      out.push({ event: 'step', data: text });
    }
  }
  if (isTerminal(inv.status)) {
    out.push({ event: 'end', data: JSON.stringify({ id: inv.id, status: inv.status, headline: inv.summary?.headline ?? null, links: links(inv.id) }) });
  }
  return out;
}

/** A malformed id names no investigation, like an unknown one: 404, not 400. */
const IdParams = z.object({ id: InvestigationId });

/** Investigations outside a namespace-limited caller's namespaces do not exist for it. */
async function load(deps: ApiDeps, id: string, who: Identity): Promise<Investigation> {
  const inv = await deps.intake.records.find(id);
  if (!inv || !canSee(who, inv)) throw new NotFoundError(`no investigation ${id}`);
  return inv;
}

/**
 * Agents draw thumbnails only for chat; anyone else asking for one gets it drawn now and stored beside the SVG.
 * Rasterising is CPU work: it runs in the render pool, and an SVG over RENDER_MAX_INPUT is not read at all.
 */
async function thumbnailOnDemand(deps: ApiDeps, inv: Investigation, svgName: string) {
  const ref = inv.artifacts.find((a) => a.name === svgName);
  if (!ref) throw new NotFoundError(`investigation ${inv.id} has no ${svgName}`);
  checkRenderInput(deps.limits.renderInput, [{ field: 'path', inv, ref }]);
  const out = await deps.render.run('png', async () => ({ kind: 'png', svg: await deps.store.getShared(ref.key, ref.size) }));
  const png = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  await deps.store.put(artifactKey(inv.id, thumbnailName(svgName)), png, 'image/png');
  return { body: png, contentType: 'image/png', size: png.length };
}

const Accepted = z.object({
  id: InvestigationId,
  status: InvestigationStatus,
  playbook: z.string(),
  /** Why this playbook: named by the request, or scored from its symptom, with the runners-up. */
  routing: Routing,
  links: z.object({ self: z.string(), report: z.string() }),
});

const svgResponse = bytesResponse('the SVG', 'image/svg+xml');

export const investigationRoutes = [
  defineRoute({
    method: 'POST',
    path: '/v1/investigations',
    access: 'investigations:write',
    summary: 'Start an investigation',
    // `requestedBy` is set from the caller's identity; a client-sent value is accepted for compatibility and ignored.
    body: { schema: InvestigationRequest, mediaType: 'application/json', invalid: 'invalid investigation request', ignored: ['requestedBy'] },
    responses: {
      202: jsonResponse('queued', Accepted),
      403: problemResponse("outside the identity's scopes, namespaces or playbooks; errors[] names each refused field"),
      422: problemResponse('target cannot be resolved'),
      429: problemResponse('over RATE_LIMIT for this requester; see Retry-After'),
    },
    handle: async (c, input, deps) => {
      const inv = await startInvestigation(deps.intake, c.get('identity'), await input.body());
      c.header('Location', links(inv.id).self);
      // Every record started here has its routing; the fallback only satisfies the type of older records.
      const routing = inv.routing ?? { playbook: inv.playbook, score: 1, confident: true, why: 'named', alternatives: [] };
      return c.json({ id: inv.id, status: inv.status, playbook: inv.playbook, routing, links: links(inv.id) } satisfies z.infer<typeof Accepted>, 202);
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/investigations',
    access: 'investigations:read',
    summary: 'List investigations, newest first',
    query: ListInvestigationsQuery,
    responses: { 200: jsonResponse('a page', z.object({ items: z.array(Investigation), nextCursor: InvestigationId.nullable() })) },
    handle: async (c, { query }, deps) => {
      const who = c.get('identity');
      const page = await deps.intake.records.list({ ...query, visible: (inv) => canSee(who, inv) });
      return c.json({ items: page.items, nextCursor: page.nextCursor });
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/investigations/:id',
    access: 'investigations:read',
    summary: 'One investigation: status, steps with results, summary, artifacts',
    params: IdParams,
    unknownAs: 'investigation',
    responses: { 200: jsonResponse('the investigation', Investigation), 404: problemResponse('unknown id') },
    handle: async (c, { params }, deps) => c.json(await load(deps, params.id, c.get('identity'))),
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/investigations/:id/artifacts/*',
    access: 'investigations:read',
    summary: "An artifact's bytes, with its content type (a flamegraph's PNG thumbnail is drawn on first request)",
    params: IdParams.extend({ path: z.string().describe('the artifact name, e.g. "errors/node-17/result.json"') }),
    // What a finding's evidence points at: only those lines or that row, so a reader opens exactly the support.
    query: ArtifactQuery,
    unknownAs: 'investigation',
    responses: {
      200: bytesResponse('the artifact, with its content type (with lines or pointer: only that part)', 'application/octet-stream'),
      400: problemResponse('an artifact path that is malformed or climbs out of the investigation; lines past its end; a pointer into text'),
      404: problemResponse('unknown investigation or artifact, or nothing at the pointer'),
      422: problemResponse('a thumbnail whose SVG is over RENDER_MAX_INPUT'),
      503: problemResponse('the render pool is full; see Retry-After'),
    },
    handle: async (c, { params, query: q }, deps) => {
      const inv = await load(deps, params.id, c.get('identity'));
      const name = artifactPathName(c.req.url);
      if (!isSafeArtifactName(name)) {
        throw new ValidationError('invalid artifact path', [{ path: 'path', message: 'expected a path such as "errors/node-17/result.json"' }]);
      }
      const obj = await deps.store.get(artifactKey(inv.id, name)).catch(async (err: unknown) => {
        const svgName = name.replace(/\.png$/, '.svg');
        if (!(err instanceof NotFoundError) || svgName === name || !isFlamegraphSvg(svgName)) throw err;
        return thumbnailOnDemand(deps, inv, svgName);
      });
      const part = artifactPart(name, obj.body, q);
      if (part) return c.body(part.body, 200, { 'content-type': part.contentType });
      return c.body(bodyOf(obj.body), 200, { 'content-type': obj.contentType, 'content-length': String(obj.size) });
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/investigations/:id/report',
    access: 'investigations:read',
    summary: 'The self-contained HTML report (flamegraphs inline)',
    params: IdParams,
    unknownAs: 'investigation',
    responses: { 200: bytesResponse('the report', 'text/html'), 404: problemResponse('unknown id, or no report yet') },
    handle: async (c, { params }, deps) => {
      const inv = await load(deps, params.id, c.get('identity'));
      if (!inv.artifacts.some((a) => a.name === 'report.html')) throw new NotFoundError(`investigation ${inv.id} has no report yet (status ${inv.status})`);
      const obj = await deps.store.get(artifactKey(inv.id, 'report.html'));
      const html = { 'content-type': 'text/html; charset=utf-8' };
      // Opened from chat through a signed link: its evidence and artifact links need signatures of their own.
      if (c.get('identity').requestedBy === LINK_REQUESTER) {
        return c.body(deps.links.signReportLinks(obj.body.toString('utf8'), inv.id, Number(c.req.query('exp'))), 200, html);
      }
      return c.body(bodyOf(obj.body), 200, html);
    },
  }),
  // Differential flamegraph: :id is the baseline ("before"), :otherId the comparison ("after").
  defineRoute({
    method: 'GET',
    path: '/v1/investigations/:id/diff/:otherId',
    access: 'investigations:read',
    summary: 'Differential flamegraph of two profiles (:id before, :otherId after), cached once both ended',
    params: IdParams.extend({ otherId: InvestigationId }),
    unknownAs: 'investigation',
    query: DiffQuery,
    responses: {
      200: svgResponse,
      404: problemResponse('unknown id, or an investigation without folded stacks (from that node)'),
      422: problemResponse('the two profiles together are over RENDER_MAX_INPUT; errors[] names id and/or otherId'),
      503: problemResponse('the render pool is full; see Retry-After'),
    },
    handle: async (c, { params, query: q }, deps) => {
      const who = c.get('identity');
      const [before, after] = await Promise.all([load(deps, params.id, who), load(deps, params.otherId, who)]);
      const stacks = (inv: Investigation) => {
        const a = inv.artifacts.find((x) => isStepArtifact(x.name, FOLDED_ARTIFACT) && (!q.node || x.name.split('/')[1] === q.node));
        if (!a) throw new NotFoundError(`investigation ${inv.id} has no folded stacks${q.node ? ` from node ${q.node}` : ''}: is it a finished cpu-profile?`);
        return a;
      };
      const refs = [stacks(before), stacks(after)] as const;
      const svgType = { 'content-type': 'image/svg+xml' };
      const key = settled(before) && settled(after) ? diffKey(before.id, after.id, q) : null;
      if (key) {
        const cached = await deps.store.get(key).catch((err: unknown) => {
          if (err instanceof NotFoundError) return null;
          throw err;
        });
        if (cached) {
          diffCache.inc({ result: 'hit' });
          return c.body(bodyOf(cached.body), 200, svgType);
        }
      }
      diffCache.inc({ result: 'miss' });
      checkRenderInput(deps.limits.renderInput, [
        { field: 'id', inv: before, ref: refs[0] },
        { field: 'otherId', inv: after, ref: refs[1] },
      ]);
      // Downloaded into memory shared with the render thread: neither copied nor concatenated on the event loop.
      const svg = await deps.render.run('diff', async () => {
        const [b, a] = await Promise.all(refs.map((r) => deps.store.getShared(r.key, r.size)));
        return { kind: 'diff', before: b!, after: a!, options: { normalize: q.normalize, title: `Differential flamegraph: ${before.id} → ${after.id}` } };
      });
      if (key) {
        // A cache that cannot be written costs the next caller a render, not this one its answer.
        await deps.store.put(key, Buffer.from(svg.buffer, svg.byteOffset, svg.byteLength), 'image/svg+xml').catch((err: unknown) => {
          deps.log.warn({ err, key }, 'could not cache a differential flame graph');
        });
      }
      return c.body(svg, 200, svgType);
    },
  }),
  // Server-sent events: a snapshot, then each change of status and of each step, then `end`; a comment every 15 s
  // keeps proxies from closing a quiet stream.
  defineRoute({
    method: 'GET',
    path: '/v1/investigations/:id/events',
    access: 'investigations:read',
    summary: 'Server-sent events: status, then each step change, then end',
    params: IdParams,
    unknownAs: 'investigation',
    responses: {
      200: bytesResponse('events `status`, `step`, `end` with JSON data', 'text/event-stream'),
      404: problemResponse('unknown id'),
      429: problemResponse('too many open streams (SSE_MAX_PER_IDENTITY, SSE_MAX_STREAMS); see Retry-After'),
      501: problemResponse('this deployment cannot stream (AWS Lambda): poll GET /v1/investigations/{id}'),
    },
    handle: async (c, { params }, deps) => {
      const changes = deps.changes;
      if (!changes) {
        throw new NotImplementedError('event streams cannot pass through AWS Lambda (API Gateway and ALB buffer whole responses): poll GET /v1/investigations/{id} instead');
      }
      const who = c.get('identity');
      const first = await load(deps, params.id, who);
      // Taken before the stream starts, given back when it ends for any reason (end, client gone, shutdown).
      const release = deps.streams.acquire(who.requestedBy);
      const follow = async (stream: SSEStreamingApi) => {
        let changed = true;
        let wake: (() => void) | undefined;
        const off = changes.on(first.id, () => {
          changed = true;
          wake?.();
        });
        const stop = () => wake?.();
        stream.onAbort(stop);
        changes.closed.addEventListener('abort', stop);
        const sent = new Map<string, string>();
        let status = '';
        try {
          while (!stream.aborted && !changes.closed.aborted) {
            if (changed) {
              changed = false;
              const inv = await deps.intake.records.find(first.id);
              if (!inv) break;
              for (const e of investigationEvents(inv, sent, status)) await stream.writeSSE(e);
              status = inv.status;
              if (isTerminal(inv.status)) break;
            }
            await new Promise<void>((ok) => {
              const t = setTimeout(ok, 15_000);
              wake = () => {
                clearTimeout(t);
                ok();
              };
            });
            if (!changed && !stream.aborted) await stream.write(': keep-alive\n\n');
          }
        } finally {
          off();
          changes.closed.removeEventListener('abort', stop);
        }
      };
      return streamSSE(c, (stream) => follow(stream).finally(release));
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/v1/investigations/:id/cancel',
    access: 'investigations:write',
    summary: 'Stop its captures at once',
    params: IdParams,
    unknownAs: 'investigation',
    responses: { 202: jsonResponse('cancelled or cancelling', Investigation), 404: problemResponse('unknown id'), 409: problemResponse('already ended') },
    handle: async (c, { params }, deps) => {
      const who = c.get('identity');
      const inv = await load(deps, params.id, who);
      return c.json(await cancelInvestigation({ ...deps.intake, notifier: deps.notifier }, who, inv), 202);
    },
  }),
];
