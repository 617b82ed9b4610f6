import { z } from 'zod';
import { INVESTIGATION_ID } from '../core/ids.ts';
import { Investigation, InvestigationRequest, InvestigationStatus } from '../core/investigation.ts';
import { AlertmanagerPayload } from '../alerts/payload.ts';
import { SCHEDULE_NAME, Schedule, ScheduleRequest } from '../schedules/schedule.ts';
import { AuditEntry } from '../audit/audit-log.ts';
import { accessFor } from './access-policy.ts';
import { ListQuery } from './routes/investigations.ts';
import { AuditQuery } from './routes/audit.ts';

const Problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  instance: z.string().optional(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

const Accepted = z.object({
  id: z.string(),
  status: InvestigationStatus,
  playbook: z.string(),
  links: z.object({ self: z.string(), report: z.string() }),
});

const schema = (s: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(s, { io, target: 'draft-2020-12', unrepresentable: 'any' });
const json = (ref: string) => ({ content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } } });
const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});
const nameParam = { name: 'name', in: 'path', required: true, schema: { type: 'string', pattern: SCHEDULE_NAME.source } };
const queryParams = (q: z.ZodType) =>
  Object.entries((schema(q, 'input') as { properties: Record<string, unknown> }).properties).map(([name, s]) => ({ name, in: 'query', required: false, schema: s }));
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: INVESTIGATION_ID.source } };

/** OpenAPI 3.1, generated from the zod schemas that validate requests, so the document cannot drift from the code. */
export function openApiDocument() {
  const query = schema(ListQuery, 'input') as { properties: Record<string, unknown> };
  const doc = {
    openapi: '3.1.0',
    info: { title: 'tracehound', version: '1', description: 'Incident investigations with time-boxed BPF captures.' },
    paths: {
      '/v1/investigations': {
        post: {
          summary: 'Start an investigation',
          requestBody: { required: true, ...json('InvestigationRequest') },
          responses: {
            202: { description: 'queued', ...json('Accepted') },
            400: problem('invalid request'),
            403: problem("outside the identity's scopes, namespaces or playbooks; errors[] names each refused field"),
            413: problem('body over API_BODY_LIMIT'),
            422: problem('target cannot be resolved'),
          },
        },
        get: {
          summary: 'List investigations, newest first',
          parameters: Object.entries(query.properties).map(([name, s]) => ({ name, in: 'query', required: false, schema: s })),
          responses: { 200: { description: 'a page', content: { 'application/json': { schema: { type: 'object', properties: { items: { type: 'array', items: { $ref: '#/components/schemas/Investigation' } }, nextCursor: { type: ['string', 'null'] } } } } } }, 400: problem('invalid query') },
        },
      },
      '/v1/investigations/{id}': {
        get: { summary: 'One investigation', parameters: [idParam], responses: { 200: { description: 'the investigation', ...json('Investigation') }, 404: problem('unknown id') } },
      },
      '/v1/investigations/{id}/artifacts/{path}': {
        get: {
          summary: "An artifact's bytes",
          parameters: [idParam, { name: 'path', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { 200: { description: 'the artifact, with its content type' }, 400: problem('invalid path'), 404: problem('unknown investigation or artifact') },
        },
      },
      '/v1/investigations/{id}/events': {
        get: {
          summary: 'Server-sent events: status, then each step change, then end',
          parameters: [idParam],
          responses: {
            200: { description: 'text/event-stream: events `status`, `step`, `end` with JSON data' },
            404: problem('unknown id'),
            429: problem('too many open streams (SSE_MAX_PER_IDENTITY, SSE_MAX_STREAMS); see Retry-After'),
          },
        },
      },
      '/v1/investigations/{id}/cancel': {
        post: { summary: 'Stop its captures at once', parameters: [idParam], responses: { 202: { description: 'cancelled or cancelling', ...json('Investigation') }, 404: problem('unknown id'), 409: problem('already ended') } },
      },
      '/v1/schedules': {
        post: {
          summary: 'Create or replace a schedule (cron or every); each firing starts an investigation as schedule:<name>',
          requestBody: { required: true, ...json('ScheduleRequest') },
          responses: { 201: { description: 'created', ...json('Schedule') }, 200: { description: 'replaced', ...json('Schedule') }, 400: problem('invalid schedule'), 403: problem('not allowed for this token') },
        },
        get: { summary: 'Schedules with their next run and last investigation', responses: { 200: { description: 'the schedules' } } },
      },
      '/v1/schedules/{name}': {
        delete: { summary: 'Delete a schedule; it stops firing', parameters: [nameParam], responses: { 204: { description: 'deleted' }, 404: problem('unknown schedule') } },
      },
      '/v1/audit': {
        get: {
          summary: 'The audit trail, newest first (admin)',
          parameters: queryParams(AuditQuery),
          responses: { 200: { description: 'a page', content: { 'application/json': { schema: { type: 'object', properties: { items: { type: 'array', items: { $ref: '#/components/schemas/AuditEntry' } }, nextBefore: { type: ['string', 'null'] } } } } } } },
        },
      },
      '/v1/chatops/slack/commands': {
        post: {
          summary: 'Slack slash command /investigate (form-encoded, signed with the Slack signing secret)',
          requestBody: { required: true, content: { 'application/x-www-form-urlencoded': { schema: { type: 'object', properties: { text: { type: 'string' }, user_id: { type: 'string' }, channel_id: { type: 'string' }, response_url: { type: 'string' }, trigger_id: { type: 'string' } } } } } },
          responses: { 200: { description: 'an ephemeral reply (Block Kit); follow-ups go to response_url' }, 401: problem('bad or stale signature'), 413: problem('body over CHATOPS_BODY_LIMIT') },
        },
      },
      '/v1/chatops/slack/interactions': {
        post: {
          summary: 'Slack interactivity Request URL: acknowledges clicks on the messages\' link buttons (signed like commands)',
          responses: { 200: { description: 'acknowledged' }, 401: problem('bad or stale signature') },
        },
      },
      '/v1/webhooks/alertmanager': {
        post: {
          summary: 'Prometheus Alertmanager webhook (version 4); rules map alerts to playbooks and targets',
          requestBody: { required: true, ...json('AlertmanagerPayload') },
          responses: {
            200: { description: 'started, duplicates, skipped and failed alerts' },
            400: problem('not a version 4 payload'),
            401: problem('bad credentials'),
            403: problem('an API token without alerts:write'),
            503: problem('not configured'),
          },
        },
      },
      '/healthz': { get: { summary: 'Liveness', responses: { 200: { description: 'alive' } } } },
      '/metrics': { get: { summary: 'Prometheus metrics of this process', responses: { 200: { description: 'text exposition format' } } } },
      '/readyz': { get: { summary: 'Redis and object storage reachable', responses: { 200: { description: 'ready' }, 503: problem('not ready') } } },
    },
    components: {
      schemas: {
        InvestigationRequest: schema(InvestigationRequest, 'input'),
        Investigation: schema(Investigation, 'output'),
        Accepted: schema(Accepted, 'output'),
        Problem: schema(Problem, 'output'),
        ScheduleRequest: schema(ScheduleRequest, 'input'),
        Schedule: schema(Schedule, 'output'),
        AuditEntry: schema(AuditEntry, 'output'),
        AlertmanagerPayload: schema(AlertmanagerPayload, 'input'),
      },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API token (ACCESS_FILE); signed links (?exp=&sig=) open reports and artifacts' },
        alertmanager: { type: 'http', scheme: 'basic' },
        slackSignature: { type: 'apiKey', in: 'header', name: 'X-Slack-Signature' },
      },
    },
  };
  // Security per operation from the same access table the server enforces.
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops as Record<string, Record<string, unknown>>)) {
      const access = accessFor(method.toUpperCase(), path.replace(/\{[^}]+\}/g, 'x'));
      op.security =
        access === 'public' ? [] : access === 'slack' ? [{ slackSignature: [] }] : access === 'alertmanager' ? [{ alertmanager: [] }, { bearer: [] }] : [{ bearer: [] }];
      if (access !== 'public' && access !== 'slack' && access !== 'alertmanager') op['x-required-scope'] = access;
    }
  }
  return doc;
}
