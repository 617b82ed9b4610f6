import { z } from 'zod';
import { openApiDocument } from './openapi.ts';
import { defineRoute, jsonResponse, type Route } from './route.ts';
import { alertmanagerRoutes } from './routes/alertmanager.ts';
import { auditRoutes } from './routes/audit.ts';
import { healthRoutes } from './routes/health.ts';
import { investigationRoutes } from './routes/investigations.ts';
import { mcpRoutes } from './routes/mcp.ts';
import { nodeRoutes } from './routes/nodes.ts';
import { playbookRoutes } from './routes/playbooks.ts';
import { scheduleRoutes } from './routes/schedules.ts';
import { slackEventRoutes } from './routes/slack-events.ts';
import { slackRoutes } from './routes/slack.ts';

let document: ReturnType<typeof openApiDocument> | undefined;

/**
 * Every route the API serves, in one table: app.ts registers them, access-policy.ts answers what each needs and
 * openapi.ts describes them, so a route cannot be served without being checked and described.
 */
export const ROUTES: readonly Route[] = [
  ...healthRoutes,
  defineRoute({
    method: 'GET',
    path: '/openapi.json',
    access: 'public',
    summary: 'This document: OpenAPI 3.1, derived from the route table that serves and checks each route',
    responses: { 200: jsonResponse('the OpenAPI document', z.looseObject({ openapi: z.literal('3.1.0') })) },
    // Built on first request: the JSON Schema of every route is not needed to start the server.
    handle: (c) => c.json((document ??= openApiDocument(ROUTES))),
  }),
  ...investigationRoutes,
  ...playbookRoutes,
  ...nodeRoutes,
  ...scheduleRoutes,
  ...auditRoutes,
  ...slackRoutes,
  ...slackEventRoutes,
  ...alertmanagerRoutes,
  ...mcpRoutes,
];
