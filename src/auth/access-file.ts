import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { PlaybookName } from '../core/investigation.ts';
import { NamespaceName } from '../core/target.ts';
import { TokenEntry } from './tokens.ts';

const SlackId = z.string().regex(/^[A-Z0-9][A-Z0-9_-]{1,30}$/i, 'expected a Slack id such as "U024BE7LH" or "C0123456"');

/**
 * Who in Slack may do what. The first rule whose users and channels both match applies (an omitted list matches
 * anyone); with rules present, a user no rule matches is refused. With no rules, anyone in the workspace whose
 * requests carry a valid signature may run every playbook.
 */
export const SlackRule = z
  .object({
    users: z.array(SlackId).min(1).optional(),
    channels: z.array(SlackId).min(1).optional(),
    playbooks: z.array(PlaybookName).min(1).optional(),
    namespaces: z.array(NamespaceName).min(1).optional(),
    /** May cancel investigations and see status; default true. */
    write: z.boolean().default(true),
  })
  .strict();
export type SlackRule = z.infer<typeof SlackRule>;

/** ACCESS_FILE: API tokens (hashed) and Slack restrictions, in one YAML file kept with the deployment's secrets. */
export const AccessFile = z
  .object({
    tokens: z
      .array(TokenEntry)
      .default([])
      .refine((ts) => new Set(ts.map((t) => t.name)).size === ts.length, 'token names must be unique')
      .refine((ts) => new Set(ts.map((t) => t.sha256)).size === ts.length, 'two tokens share a hash'),
    slack: z.object({ rules: z.array(SlackRule).default([]) }).strict().default({ rules: [] }),
  })
  .strict();
export type AccessFile = z.infer<typeof AccessFile>;

export class AccessFileError extends Error {}

export function parseAccessFile(text: string, source: string): AccessFile {
  let doc: unknown;
  try {
    doc = parseYaml(text) ?? {};
  } catch (err) {
    throw new AccessFileError(`${source}: not valid YAML: ${(err as Error).message}`);
  }
  const r = AccessFile.safeParse(doc);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.') || '(file)'}: ${i.message}`);
    throw new AccessFileError(`${source}: invalid access file:\n${lines.join('\n')}`);
  }
  return r.data;
}

export async function loadAccessFile(path: string | undefined): Promise<AccessFile> {
  if (!path) return AccessFile.parse({});
  return parseAccessFile(await readFile(path, 'utf8'), path);
}
