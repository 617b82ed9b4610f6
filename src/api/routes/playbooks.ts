import { Hono } from 'hono';
import { z } from 'zod';
import { NotFoundError } from '../../core/errors.ts';
import type { Playbook } from '../../core/playbooks/playbook.ts';

/** Parameters are described as users write them (io: 'input'), e.g. duration as "10s", not as milliseconds. */
const describe = (p: Playbook) => ({
  name: p.name,
  title: p.title,
  description: p.description,
  parameters: z.toJSONSchema(p.params, { io: 'input', unrepresentable: 'any' }),
  steps: p.steps.map((s) => ({ id: s.id, tool: s.tool, title: s.title })),
});

export function playbookRoutes(playbooks: readonly Playbook[]) {
  const app = new Hono();
  app.get('/', (c) => c.json({ items: playbooks.map(describe) }));
  app.get('/:name', (c) => {
    const p = playbooks.find((x) => x.name === c.req.param('name'));
    if (!p) throw new NotFoundError(`no playbook ${c.req.param('name')}`);
    return c.json(describe(p));
  });
  return app;
}
