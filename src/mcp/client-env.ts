import { z } from 'zod';

/**
 * What `tracehound mcp` reads from its environment. It is a client of a running API, not a part of the service,
 * so it reads these two and none of the service's configuration (src/config.ts), which it does not need.
 */
export const McpClientEnv = z.object({
  TRACEHOUND_URL: z
    .url({ protocol: /^https?$/, error: 'expected the API\'s URL, e.g. "http://127.0.0.1:8080" or "https://tracehound.example.com"' })
    .describe('where the API listens'),
  TRACEHOUND_TOKEN: z
    .string({ error: 'expected an API token (tracehound token create); its scopes decide which tools work' })
    .trim()
    .min(1, 'expected an API token (tracehound token create); its scopes decide which tools work')
    .refine((t) => !/\s/.test(t), 'a token has no spaces; set the token itself, not "Bearer <token>"'),
});
export type McpClientEnv = z.infer<typeof McpClientEnv>;

export class McpEnvError extends Error {}

/** The environment checked at start, every problem named with its variable: an MCP host shows this one line. */
export function readMcpClientEnv(env: Record<string, string | undefined>): McpClientEnv {
  const r = McpClientEnv.safeParse({ TRACEHOUND_URL: env.TRACEHOUND_URL || undefined, TRACEHOUND_TOKEN: env.TRACEHOUND_TOKEN || undefined });
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`);
  throw new McpEnvError(`tracehound mcp: ${problems.join('; ')}`);
}
