import { Hono } from 'hono';
import { z } from 'zod';
import { ConflictError, NotFoundError, ServiceUnavailableError, UnsupportedTargetError, ValidationError } from '../../core/errors.ts';
import { newInvestigationId } from '../../core/ids.ts';
import { InvestigationRequest, InvestigationStatus, isTerminal, type Investigation } from '../../core/investigation.ts';
import { choosePlaybook, parsePlaybookParams } from '../../core/playbooks/select.ts';
import { renderDiffFlamegraph } from '../../flamegraph/diff.ts';
import { targetsPods } from '../../inventory/inventory.ts';
import { isSafeArtifactName, artifactKey } from '../../storage/keys.ts';
import type { ApiDeps } from '../deps.ts';
import { parseOrThrow } from '../problem.ts';

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

export function investigationRoutes(deps: ApiDeps) {
  const app = new Hono();

  const load = async (id: string): Promise<Investigation> => {
    const inv = /^inv_[0-9a-z]{26}$/.test(id) ? await deps.records.find(id) : null;
    if (!inv) throw new NotFoundError(`no investigation ${id}`);
    return inv;
  };

  app.post('/', async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new ValidationError('request body is not valid JSON', [{ path: '(body)', message: 'expected a JSON object' }]);
    }
    if (body && typeof body === 'object' && 'requestedBy' in body) {
      const { requestedBy: _ignored, ...rest } = body as Record<string, unknown>;
      body = rest;
    }
    const req = parseOrThrow(RequestBody, body, 'investigation request');
    const playbook = choosePlaybook(deps.playbooks, req);
    parsePlaybookParams(playbook, req.params);
    if (!req.target && !playbook.fleetWide) {
      throw new ValidationError('a target is required', [{ path: 'target', message: `${playbook.name} needs a target; only fleet-wide playbooks run without one` }]);
    }
    if (req.target && targetsPods(req.target)) {
      if (deps.inventory?.kind !== 'kubernetes') {
        throw new UnsupportedTargetError(
          'pod, namespace and labelSelector targets need the Kubernetes inventory, which is not configured on this server; target a node, cgroup or pid',
        );
      }
    }
    // Unknown pods, hosts and selectors matching nothing are the caller's error, answered now (404), not in a failed step later.
    if (req.target && deps.inventory) await deps.inventory.resolve(req.target);

    const id = newInvestigationId();
    const inv: Investigation = {
      id,
      status: 'queued',
      playbook: playbook.name,
      ...(req.symptom ? { symptom: req.symptom } : {}),
      ...(req.target ? { target: req.target } : {}),
      params: req.params,
      createdAt: new Date().toISOString(),
      requestedBy: 'http:anonymous',
      steps: [],
      artifacts: [],
    };
    await deps.records.create(inv);
    try {
      await deps.investigations.add('investigate', { id }, { jobId: id, removeOnComplete: { age: 7 * 24 * 3600 }, removeOnFail: { age: 30 * 24 * 3600 } });
    } catch (err) {
      await deps.records.remove(id).catch(() => undefined);
      deps.log.error({ err }, 'enqueue failed');
      throw new ServiceUnavailableError('could not queue the investigation; try again');
    }
    deps.log.info({ investigation: id, playbook: playbook.name, target: req.target }, 'investigation queued');
    c.header('Location', links(id).self);
    return c.json({ id, status: inv.status, playbook: inv.playbook, links: links(id) }, 202);
  });

  app.get('/', async (c) => {
    const q = parseOrThrow(ListQuery, c.req.query(), 'query', ['query']);
    const page = await deps.records.list(q);
    return c.json({ items: page.items, nextCursor: page.nextCursor });
  });

  app.get('/:id', async (c) => c.json(await load(c.req.param('id'))));

  app.get('/:id/artifacts/*', async (c) => {
    const inv = await load(c.req.param('id'));
    const prefix = `/v1/investigations/${inv.id}/artifacts/`;
    const name = decodeURIComponent(c.req.path.slice(c.req.path.indexOf(prefix) + prefix.length));
    if (!isSafeArtifactName(name)) {
      throw new ValidationError('invalid artifact path', [{ path: 'path', message: 'expected a path such as "errors/node-17/result.json"' }]);
    }
    const obj = await deps.store.get(artifactKey(inv.id, name));
    return c.body(new Uint8Array(obj.body), 200, { 'content-type': obj.contentType, 'content-length': String(obj.size) });
  });

  app.get('/:id/report', async (c) => {
    const inv = await load(c.req.param('id'));
    if (!inv.artifacts.some((a) => a.name === 'report.html')) throw new NotFoundError(`investigation ${inv.id} has no report yet (status ${inv.status})`);
    const obj = await deps.store.get(artifactKey(inv.id, 'report.html'));
    return c.body(new Uint8Array(obj.body), 200, { 'content-type': 'text/html; charset=utf-8' });
  });

  // Differential flamegraph: :id is the baseline ("before"), :otherId the comparison ("after").
  app.get('/:id/diff/:otherId', async (c) => {
    const q = parseOrThrow(DiffQuery, c.req.query(), 'query', ['query']);
    const [before, after] = await Promise.all([load(c.req.param('id')), load(c.req.param('otherId'))]);
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

  app.post('/:id/cancel', async (c) => {
    const inv = await load(c.req.param('id'));
    if (isTerminal(inv.status)) throw new ConflictError(`investigation ${inv.id} already ${inv.status}`);
    // Still waiting in the queue: take it out so no capture ever starts.
    if (inv.status === 'queued') {
      const job = await deps.investigations.getJob(inv.id);
      if (job && (await job.getState()) === 'waiting') {
        await job.remove().catch(() => undefined);
        if (!(await deps.investigations.getJob(inv.id))) {
          const done: Investigation = { ...inv, status: 'cancelled', reason: 'cancelled before it started', finishedAt: new Date().toISOString() };
          await deps.records.put(done);
          await deps.records.requestCancel(inv.id);
          return c.json(done, 202);
        }
      }
    }
    await deps.records.requestCancel(inv.id);
    deps.log.info({ investigation: inv.id }, 'cancel requested');
    return c.json({ ...(await load(inv.id)), cancelRequested: true }, 202);
  });

  return app;
}
