import { z } from 'zod';
import { NotFoundError } from '../../core/errors.ts';
import { PlaybookName } from '../../core/investigation.ts';
import type { Playbook } from '../../playbooks/playbook.ts';
import { defineRoute, jsonResponse, problemResponse } from '../route.ts';

const PlaybookDescription = z.object({
  name: z.string(),
  title: z.string(),
  description: z.string(),
  parameters: z.record(z.string(), z.unknown()).describe('the parameters as JSON Schema, as users write them'),
  steps: z.array(z.object({ id: z.string(), tool: z.string(), title: z.string() })),
});
type PlaybookDescription = z.infer<typeof PlaybookDescription>;

/** Parameters are described as users write them (io: 'input'), e.g. duration as "10s", not as milliseconds. */
const describe = (p: Playbook): PlaybookDescription => ({
  name: p.name,
  title: p.title,
  description: p.description,
  parameters: z.toJSONSchema(p.params, { io: 'input', unrepresentable: 'any' }),
  steps: p.steps.map((s) => ({ id: s.id, tool: s.tool, title: s.title })),
});

export const playbookRoutes = [
  defineRoute({
    method: 'GET',
    path: '/v1/playbooks',
    access: 'investigations:read',
    summary: 'Playbooks with their parameters as JSON Schema',
    responses: { 200: jsonResponse('the playbooks', z.object({ items: z.array(PlaybookDescription) })) },
    handle: (c, _input, deps) => c.json({ items: deps.intake.playbooks.map(describe) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/playbooks/:name',
    access: 'investigations:read',
    summary: 'One playbook with its parameters as JSON Schema',
    params: z.object({ name: PlaybookName }),
    unknownAs: 'playbook',
    responses: { 200: jsonResponse('the playbook', PlaybookDescription), 404: problemResponse('unknown playbook') },
    handle: (c, { params }, deps) => {
      const p = deps.intake.playbooks.find((x) => x.name === params.name);
      if (!p) throw new NotFoundError(`no playbook ${params.name}`);
      return c.json(describe(p));
    },
  }),
];
