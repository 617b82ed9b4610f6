import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { AGENT_VERSION } from '../version.ts';
import type { ApiClient } from './api-client.ts';
import { registerTools } from './tools.ts';

/** What tracehound tells an MCP client about itself, before any tool is listed. */
const INSTRUCTIONS =
  'tracehound investigates incidents on Linux nodes with time-boxed BPF captures. Start with start_investigation (a symptom in words and a target), poll get_investigation until it ends, read its findings (each with its confidence and evidence) and, where needed, the artifacts they point at with get_artifact.';

/** One MCP server over the API: the same tools whichever transport it is connected to (stdio.ts, streamable-http.ts). */
export function createMcpServer(api: ApiClient): McpServer {
  const server = new McpServer({ name: 'tracehound', version: AGENT_VERSION }, { instructions: INSTRUCTIONS });
  registerTools(server, api);
  return server;
}
