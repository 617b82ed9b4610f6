import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { canSee } from '../../auth/authorize.ts';
import type { Identity } from '../../auth/identity.ts';
import { NotFoundError, ValidationError } from '../../core/errors.ts';
import { InvestigationRequest, InvestigationStatus, isTerminal, type Investigation } from '../../core/investigation.ts';
import { renderDiffFlamegraph } from '../../flamegraph/diff.ts';
import { isFlamegraphSvg, renderFlamegraphPng, thumbnailName } from '../../flamegraph/png.ts';
import { cancelInvestigation } from '../../intake/cancel.ts';
import { startInvestigation } from '../../intake/start.ts';
import { isSafeArtifactName, artifactKey } from '../../storage/keys.ts';
import type { ApiDeps } from '../deps.ts';
import type { AppEnv } from '../env.ts';
import { parseOrThrow, readJson } from '../problem.ts';

export const ListQuery = z
  .object({
    status: InvestigationStatus.optional(),
    playbook: z.string().max(64).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().regex(/^inv_[0-9a-z]{26}$/, 'not a cursor from a previous page').optional(),
  })
  .strict();

/** `requestedBy` is set from the caller's identity; a client-sent value is accepted for compatibility and ignored. */
const RequestBody = InvestigationRequest.and(z.object({ requestedBy: z.unknown().optional() }));

const DiffQuery = z
  .object({
    node: z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/).optional(),
    normalize: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  })
  .strict();

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

export function investigationRoutes(deps: ApiDeps) {
  const app = new Hono<AppEnv>();

  /** Investigations outside a namespace-limited caller's namespaces do not exist for it. */
  const load = async (id: string, who: Identity): Promise<Investigation> => {
    const inv = /^inv_[0-9a-z]{26}$/.test(id) ? await deps.records.find(id) : null;
    if (!inv || !canSee(who, inv)) throw new NotFoundError(`no investigation ${id}`);
    return inv;
  };

  app.post('/', async (c) => {
    let body = await readJson(c.req);
    if (body && typeof body === 'object' && 'requestedBy' in body) {
      const { requestedBy: _ignored, ...rest } = body as Record<string, unknown>;
      body = rest;
    }
    const req = parseOrThrow(RequestBody, body, 'investigation request');
    const inv = await startInvestigation(deps.intake, c.get('identity'), req);
    c.header('Location', links(inv.id).self);
    return c.json({ id: inv.id, status: inv.status, playbook: inv.playbook, links: links(inv.id) }, 202);
  });

  app.get('/', async (c) => {
    const q = parseOrThrow(ListQuery, c.req.query(), 'query', ['query']);
    const who = c.get('identity');
    const page = await deps.records.list({ ...q, visible: (inv) => canSee(who, inv) });
    return c.json({ items: page.items, nextCursor: page.nextCursor });
  });

  app.get('/:id', async (c) => c.json(await load(c.req.param('id'), c.get('identity'))));

  app.get('/:id/artifacts/*', async (c) => {
    const inv = await load(c.req.param('id'), c.get('identity'));
    const prefix = `/v1/investigations/${inv.id}/artifacts/`;
    const name = decodeURIComponent(c.req.path.slice(c.req.path.indexOf(prefix) + prefix.length));
    if (!isSafeArtifactName(name)) {
      throw new ValidationError('invalid artifact path', [{ path: 'path', message: 'expected a path such as "errors/node-17/result.json"' }]);
    }
    const obj = await deps.store.get(artifactKey(inv.id, name)).catch(async (err: unknown) => {
      const svgName = name.replace(/\.png$/, '.svg');
      if (!(err instanceof NotFoundError) || svgName === name || !isFlamegraphSvg(svgName)) throw err;
      return thumbnailOnDemand(inv.id, svgName);
    });
    return c.body(new Uint8Array(obj.body), 200, { 'content-type': obj.contentType, 'content-length': String(obj.size) });
  });

  /** Agents draw thumbnails only for chat; anyone else asking for one gets it drawn now and stored beside the SVG. */
  const thumbnailOnDemand = async (id: string, svgName: string) => {
    const svg = await deps.store.get(artifactKey(id, svgName));
    const png = renderFlamegraphPng(svg.body.toString('utf8'));
    await deps.store.put(artifactKey(id, thumbnailName(svgName)), png, 'image/png');
    return { body: png, contentType: 'image/png', size: png.length };
  };

  app.get('/:id/report', async (c) => {
    const inv = await load(c.req.param('id'), c.get('identity'));
    if (!inv.artifacts.some((a) => a.name === 'report.html')) throw new NotFoundError(`investigation ${inv.id} has no report yet (status ${inv.status})`);
    const obj = await deps.store.get(artifactKey(inv.id, 'report.html'));
    return c.body(new Uint8Array(obj.body), 200, { 'content-type': 'text/html; charset=utf-8' });
  });

  // Differential flamegraph: :id is the baseline ("before"), :otherId the comparison ("after").
  app.get('/:id/diff/:otherId', async (c) => {
    const q = parseOrThrow(DiffQuery, c.req.query(), 'query', ['query']);
    const who = c.get('identity');
    const [before, after] = await Promise.all([load(c.req.param('id'), who), load(c.req.param('otherId'), who)]);
    const folded = async (inv: Investigation) => {
      const a = inv.artifacts.find((x) => x.name.endsWith('/stacks.folded') && (!q.node || x.name.split('/')[1] === q.node));
      if (!a) throw new NotFoundError(`investigation ${inv.id} has no folded stacks${q.node ? ` from node ${q.node}` : ''}: is it a finished cpu-profile?`);
      return (await deps.store.get(a.key)).body.toString('utf8');
    };
    const svg = renderDiffFlamegraph(await folded(before), await folded(after), {
      normalize: q.normalize,
      title: `Differential flamegraph: ${before.id} → ${after.id}`,
    });
    return c.body(svg, 200, { 'content-type': 'image/svg+xml' });
  });

  // Server-sent events: a snapshot, then each change of status and of each step, then `end`; a comment every 15 s
  // keeps proxies from closing a quiet stream.
  app.get('/:id/events', async (c) => {
    const first = await load(c.req.param('id'), c.get('identity'));
    return streamSSE(c, async (stream) => {
      let changed = true;
      let wake: (() => void) | undefined;
      const off = deps.changes.on(first.id, () => {
        changed = true;
        wake?.();
      });
      const stop = () => wake?.();
      stream.onAbort(stop);
      deps.changes.closed.addEventListener('abort', stop);
      const sent = new Map<string, string>();
      let status = '';
      try {
        while (!stream.aborted && !deps.changes.closed.aborted) {
          if (changed) {
            changed = false;
            const inv = await deps.records.find(first.id);
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
        deps.changes.closed.removeEventListener('abort', stop);
      }
    });
  });

  app.post('/:id/cancel', async (c) => {
    const who = c.get('identity');
    const inv = await load(c.req.param('id'), who);
    return c.json(await cancelInvestigation(deps, who, inv), 202);
  });

  return app;
}
