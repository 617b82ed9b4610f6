import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { ApiClient } from './api-client.ts';
import { createMcpServer } from './server.ts';

/**
 * One POST of the streamable HTTP transport, stateless: a server and a transport per request, closed with it, so
 * any instance answers any request (several API processes, AWS Lambda) and nothing is kept between requests.
 * Answers are JSON, not a stream: a tool call ends within one response, and API Gateway buffers responses anyway.
 *
 * The SDK's web-standard transport takes a Fetch Request, as Hono has one (c.req.raw); the body comes already
 * parsed and checked by the route, so the request given here carries the headers the transport requires, not the
 * caller's: `accept` (both types, which a JSON-only answer satisfies) and `content-type`, with the protocol version.
 */
export async function answerMcpPost(opts: { url: string; body: unknown; protocolVersion: string | undefined; api: ApiClient }): Promise<Response> {
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  const server = createMcpServer(opts.api);
  await server.connect(transport);
  try {
    const request = new Request(opts.url, {
      method: 'POST',
      headers: {
        accept: 'application/json, text/event-stream',
        'content-type': 'application/json',
        ...(opts.protocolVersion ? { 'mcp-protocol-version': opts.protocolVersion } : {}),
      },
    });
    return await transport.handleRequest(request, { parsedBody: opts.body });
  } finally {
    await server.close();
  }
}
