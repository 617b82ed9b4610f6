import { z } from 'zod';
import { ValidationError } from '../../core/errors.ts';
import { apiClient } from '../../mcp/api-client.ts';
import { problem } from '../problem.ts';
import { defineRoute, jsonResponse, problemResponse } from '../route.ts';

/**
 * A JSON-RPC 2.0 message, as far as the route checks it: the SDK's transport checks the rest. Checked here so that a
 * body that is not one is a 400 problem like any other route's, and read through the API's body limit.
 */
const JsonRpcMessage = z.looseObject({
  jsonrpc: z.literal('2.0'),
  id: z.union([z.string(), z.number()]).optional(),
  method: z.string().optional(),
});
const McpMessages = z.union([JsonRpcMessage, z.array(JsonRpcMessage).min(1)]);

/** What the SDK's transport says when it refuses a message (a JSON-RPC error), for the problem's detail. */
const TransportRefusal = z.object({ error: z.object({ message: z.string() }) });

const TOOLS_SUMMARY =
  'MCP over streamable HTTP (stateless, JSON answers): tools list_playbooks, get_investigation, get_artifact (investigations:read) and start_investigation, cancel_investigation (investigations:write), each call checked as the API route it makes';

export const mcpRoutes = [
  defineRoute({
    method: 'POST',
    path: '/mcp',
    access: 'investigations:read',
    summary: TOOLS_SUMMARY,
    body: { schema: McpMessages, mediaType: 'application/json', invalid: 'invalid MCP message', expected: 'a JSON-RPC 2.0 message or batch' },
    responses: {
      200: jsonResponse('the JSON-RPC response, or responses for a batch', McpMessages),
      202: { description: 'notifications or responses only: accepted, nothing to answer' },
    },
    handle: async (c, input) => {
      const body = await input.body();
      // The SDK loads with the first MCP request, not with the API: an AWS Lambda cold start does without it.
      const { answerMcpPost } = await import('../../mcp/streamable-http.ts');
      // Each tool calls the app itself with the caller's own Authorization: the route it makes checks it.
      const api = apiClient(c.get('app'), new URL(c.req.url).origin, c.req.header('authorization'));
      const res = await answerMcpPost({ url: c.req.url, body, protocolVersion: c.req.header('mcp-protocol-version'), api });
      if (res.status >= 400) {
        const refusal = TransportRefusal.safeParse(await res.json().catch(() => null));
        throw new ValidationError('invalid MCP request', [{ path: '(body)', message: refusal.success ? refusal.data.error.message : `refused (${res.status})` }]);
      }
      return res;
    },
  }),
  // Stateless: no stream for the server to push on, which the protocol answers with 405 (clients then only POST).
  defineRoute({
    method: 'GET',
    path: '/mcp',
    access: 'investigations:read',
    summary: 'No server-initiated stream (the MCP endpoint is stateless): always 405, as the protocol asks',
    responses: { 405: problemResponse('use POST /mcp') },
    handle: (c) => {
      c.header('Allow', 'POST');
      return problem(c, {
        type: 'about:blank',
        title: 'Method Not Allowed',
        status: 405,
        detail: 'this MCP endpoint is stateless and pushes nothing: send each message with POST /mcp',
        instance: c.req.path,
      });
    },
  }),
];
