import { z } from 'zod';
import { NodeInfo } from '../../inventory/node-registry.ts';
import { defineRoute, jsonResponse } from '../route.ts';

export const nodeRoutes = [
  defineRoute({
    method: 'GET',
    path: '/v1/nodes',
    access: 'investigations:read',
    summary: 'Live node agents and their capabilities',
    responses: { 200: jsonResponse('the nodes whose agents heartbeat', z.object({ items: z.array(NodeInfo) })) },
    handle: async (c, _input, deps) => c.json({ items: await deps.registry.list() }),
  }),
];
