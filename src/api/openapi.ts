import { z } from 'zod';
import { Investigation, InvestigationRequest, InvestigationStatus } from '../core/investigation.ts';
import { ListQuery } from './routes/investigations.ts';

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
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^inv_[0-9a-z]{26}$' } };

/** OpenAPI 3.1, generated from the zod schemas that validate requests, so the document cannot drift from the code. */
export function openApiDocument() {
  const query = schema(ListQuery, 'input') as { properties: Record<string, unknown> };
  return {
    openapi: '3.1.0',
    info: { title: 'tracehound', version: '1', description: 'Incident investigations with time-boxed BPF captures.' },
    paths: {
      '/v1/investigations': {
        post: {
          summary: 'Start an investigation',
          requestBody: { required: true, ...json('InvestigationRequest') },
          responses: { 202: { description: 'queued', ...json('Accepted') }, 400: problem('invalid request'), 422: problem('target cannot be resolved') },
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
      '/v1/investigations/{id}/cancel': {
        post: { summary: 'Stop its captures at once', parameters: [idParam], responses: { 202: { description: 'cancelled or cancelling', ...json('Investigation') }, 404: problem('unknown id'), 409: problem('already ended') } },
      },
      '/healthz': { get: { summary: 'Liveness', responses: { 200: { description: 'alive' } } } },
      '/readyz': { get: { summary: 'Redis and object storage reachable', responses: { 200: { description: 'ready' }, 503: problem('not ready') } } },
    },
    components: {
      schemas: {
        InvestigationRequest: schema(InvestigationRequest, 'input'),
        Investigation: schema(Investigation, 'output'),
        Accepted: schema(Accepted, 'output'),
        Problem: schema(Problem, 'output'),
      },
    },
  };
}
