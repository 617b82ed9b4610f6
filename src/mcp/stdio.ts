import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { ApiProblem, apiClient, type Send } from './api-client.ts';
import type { McpClientEnv } from './client-env.ts';
import { createMcpServer } from './server.ts';

/** How long one API call may take: every tool's call is a quick read or a queued start, never a capture. */
const API_TIMEOUT_MS = 30_000;

/**
 * `tracehound mcp`: the tools over stdio for an MCP host (Claude Desktop, Claude Code, an IDE), a thin client of
 * the API at TRACEHOUND_URL with TRACEHOUND_TOKEN. stdout carries the protocol only; nothing else is printed there.
 * Resolves when the host closes stdin.
 */
export async function runMcpStdio(env: McpClientEnv): Promise<void> {
  const base = env.TRACEHOUND_URL;
  const send: Send = async (request) => {
    try {
      return await fetch(request, { signal: AbortSignal.timeout(API_TIMEOUT_MS) });
    } catch (err) {
      // Unreachable or too slow: a tool error naming where it looked, not a protocol failure.
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new ApiProblem(503, `cannot reach the tracehound API at ${base} (TRACEHOUND_URL): ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
  };
  const server = createMcpServer(apiClient(send, base, `Bearer ${env.TRACEHOUND_TOKEN}`));
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((ok) => {
    transport.onclose = ok;
    process.stdin.once('end', ok);
  });
  await server.connect(transport);
  await closed;
  await server.close();
}
