import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { InvestigationId } from '../core/ids.ts';
import { Investigation, InvestigationRequest } from '../core/investigation.ts';
import { ApiProblem, type ApiClient } from './api-client.ts';
import { ARTIFACT_PAGE_MAX, isTextContentType, textPage } from './artifact-page.ts';
import { INVESTIGATION_VIEW_BUDGET, investigationView, moreMarker } from './investigation-view.ts';

/** A tool's refusal of its own (a binary artifact, an unknown name): an MCP tool error, like the API's problems. */
class ToolRefusal extends Error {}

const text = (value: unknown): CallToolResult => ({ content: [{ type: 'text', text: typeof value === 'string' ? value : JSON.stringify(value) }] });

/**
 * Every tool answers errors as MCP tool errors (`isError`), carrying the API's problem text (status, title, detail,
 * each refused field): the model reads why, instead of the call failing as a protocol error.
 */
const answered =
  <A>(fn: (args: A) => Promise<CallToolResult>) =>
  async (args: A): Promise<CallToolResult> => {
    try {
      return await fn(args);
    } catch (err) {
      if (err instanceof ApiProblem || err instanceof ToolRefusal) return { isError: true, content: [{ type: 'text', text: err.message }] };
      throw err;
    }
  };

/** GET /v1/playbooks as the API describes it (routes/playbooks.ts); only what a caller chooses by is passed on. */
const PlaybookList = z.object({
  items: z.array(
    z.object({
      name: z.string(),
      title: z.string(),
      description: z.string(),
      parameters: z.record(z.string(), z.unknown()),
      steps: z.array(z.object({ id: z.string(), tool: z.string() })),
    }),
  ),
});

const Accepted = z.object({ id: InvestigationId });
const IdInput = { id: InvestigationId.describe('the investigation id, e.g. "inv_01jd3zq8k2m4n6p8r0s2t4v6w8"') };

const investigationPath = (id: string) => `/v1/investigations/${id}`;
/** An artifact's path, each segment percent-encoded once, as the API decodes it once. */
const artifactPath = (id: string, name: string) => `${investigationPath(id)}/artifacts/${name.split('/').map(encodeURIComponent).join('/')}`;

/**
 * The five tools, over any transport: stdio (`tracehound mcp`) and streamable HTTP (`/mcp`) both register these on
 * their server, with a client that reaches the API (api-client.ts). The scopes named are the routes' own: the API
 * checks them on each call (list/get need investigations:read; start/cancel need investigations:write).
 */
export function registerTools(server: McpServer, api: ApiClient): void {
  server.registerTool(
    'list_playbooks',
    {
      title: 'List playbooks',
      description:
        'The investigations tracehound can run: each playbook with what it looks for and its parameters (JSON Schema). Needs the investigations:read scope.',
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    answered(async () => {
      const { items } = await api.json('GET', '/v1/playbooks', PlaybookList);
      const full = JSON.stringify({ playbooks: items.map((p) => ({ name: p.name, title: p.title, description: p.description, parameters: p.parameters, steps: p.steps.map((s) => `${s.id} (${s.tool})`) })) });
      if (Buffer.byteLength(full) <= INVESTIGATION_VIEW_BUDGET) return text(full);
      // Held to the same budget as an investigation: past it, each playbook's parameters by name only.
      return text({
        playbooks: items.map((p) => ({ name: p.name, title: p.title, parameters: Object.keys((p.parameters.properties as object | undefined) ?? {}) })),
        note: `parameters by name only (the whole list is over ${INVESTIGATION_VIEW_BUDGET / 1024} KiB); each one's JSON Schema is at GET /v1/playbooks/<name>`,
      });
    }),
  );

  server.registerTool(
    'start_investigation',
    {
      title: 'Start an investigation',
      description:
        'Starts an investigation of a target (a node, a pod "namespace/name", a cgroup or a pid): give the symptom in words, and tracehound picks the playbook (answering how it chose), or name a playbook. It runs time-boxed BPF captures; poll get_investigation with the id until its status is succeeded, failed or cancelled. Needs the investigations:write scope.',
      // The API's own request schema (src/core/investigation.ts): one definition, checked again by the API.
      inputSchema: InvestigationRequest,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    answered(async (request: InvestigationRequest) => {
      const { id } = await api.json('POST', '/v1/investigations', Accepted, request);
      // The record, not the 202: it holds how the playbook was chosen.
      const inv = await api.json('GET', investigationPath(id), Investigation);
      return text({ id: inv.id, status: inv.status, playbook: inv.playbook, ...(inv.routing ? { routing: inv.routing } : {}), next: 'poll get_investigation with this id' });
    }),
  );

  server.registerTool(
    'get_investigation',
    {
      title: 'Get an investigation',
      description: `An investigation's status, headline, routing, findings (each with its confidence and evidence: artifact paths and the rows or lines that support it), steps (id, status, tool, node, error) and artifact names. Bounded to ${INVESTIGATION_VIEW_BUDGET / 1024} KiB of JSON: longer lists end with a "… n more" marker; raw results are artifacts (get_artifact). Needs the investigations:read scope.`,
      inputSchema: IdInput,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    answered(async ({ id }: { id: string }) => text(investigationView(await api.json('GET', investigationPath(id), Investigation)))),
  );

  server.registerTool(
    'get_artifact',
    {
      title: 'Read an artifact',
      description: `One page of a text artifact of an investigation (result.json, raw output, folded stacks, report.md): at most ${ARTIFACT_PAGE_MAX / 1024} KiB from a byte offset; the answer says where the next page starts. Binary artifacts (pprof, PNG) are refused. Needs the investigations:read scope.`,
      inputSchema: {
        ...IdInput,
        path: z.string().min(1).max(1024).describe('the artifact name, as get_investigation lists it, e.g. "errors/node-17/result.json"'),
        offset: z.number().int().min(0).default(0).describe('byte offset of the page (nextOffset of the previous one)'),
        limit: z.number().int().min(1).max(ARTIFACT_PAGE_MAX).default(ARTIFACT_PAGE_MAX).describe('most bytes in the page'),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    answered(async ({ id, path, offset, limit }: { id: string; path: string; offset: number; limit: number }) => {
      const inv = await api.json('GET', investigationPath(id), Investigation);
      const ref = inv.artifacts.find((a) => a.name === path);
      if (!ref) {
        const names = inv.artifacts.slice(0, 20).map((a) => a.name);
        if (inv.artifacts.length > names.length) names.push(moreMarker(inv.artifacts.length - names.length, 'artifacts'));
        throw new ToolRefusal(`investigation ${id} has no artifact ${path}${names.length ? `; it has: ${names.join(', ')}` : ' (none stored yet)'}`);
      }
      const binary = () => new ToolRefusal(`${path} is binary (${ref.contentType}, ${ref.size} bytes): get_artifact returns text only; download it with an API token from ${artifactPath(id, path)}`);
      // Refused before a byte is downloaded: a thumbnail would even be drawn on request.
      if (!isTextContentType(ref.contentType)) throw binary();
      const { body, contentType } = await api.bytes(artifactPath(id, path));
      const page = textPage(body, offset, limit);
      if (!page) throw binary();
      const { text: pageText, ...where } = page;
      // Two parts: where the page lies, then the text as it is (not escaped inside JSON).
      return { content: [{ type: 'text', text: JSON.stringify({ id, path, contentType, ...where }) }, { type: 'text', text: pageText }] };
    }),
  );

  server.registerTool(
    'cancel_investigation',
    {
      title: 'Cancel an investigation',
      description: 'Stops a running or queued investigation at once (its captures end; what was stored stays). Needs the investigations:write scope.',
      inputSchema: IdInput,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    answered(async ({ id }: { id: string }) => {
      const inv = await api.json('POST', `${investigationPath(id)}/cancel`, Investigation, {});
      return text({ id: inv.id, status: inv.status, ...(inv.reason ? { reason: inv.reason } : {}) });
    }),
  );
}
