/**
 * Secrets for a deployment without files or a generated DATA_DIR (AWS Lambda): read once at start-up from AWS
 * Secrets Manager (TRACEHOUND_SECRET_ARN: a secret whose string is a JSON object) or SSM Parameter Store
 * (TRACEHOUND_SSM_PATH: the parameters under a path, decrypted). Either holds configuration names and values
 * (LINK_SECRET, SLACK_SIGNING_SECRET, …) plus ACCESS_YAML, the text of the access file.
 *
 * Each SDK client is imported only when its source is configured: a process that uses neither loads neither. The
 * SDK's own settings apply (AWS_REGION, credentials from the role, AWS_ENDPOINT_URL_SECRETS_MANAGER / _SSM).
 */
import { z } from 'zod';
import { ConfigError, ConfigSchema, configProblems } from '../config.ts';

/** The key that carries the access file's text rather than a configuration value. */
export const ACCESS_YAML = 'ACCESS_YAML';

/** Where the secrets are: validated by the configuration's own schema before anything is fetched. */
const { TRACEHOUND_SECRET_ARN, TRACEHOUND_SSM_PATH } = ConfigSchema.shape;
const SecretSources = z.object({ TRACEHOUND_SECRET_ARN, TRACEHOUND_SSM_PATH });

/**
 * Configuration names a secret may set (not where secrets are: that is the environment's to say); anything else is
 * a mistake to point out, not to pass on silently.
 */
const SECRET_KEYS = new Set([...Object.keys(ConfigSchema.shape).filter((k) => !(k in SecretSources.shape)), ACCESS_YAML]);

const SecretJson = z.record(z.string(), z.string(), { error: 'expected a JSON object of names to string values' });

export interface LoadedSecrets {
  /** Configuration values, to lay over the environment. */
  env: Record<string, string>;
  /** The access file's text, when the secret holds one. */
  accessYaml?: string;
  /** Where they came from, for the log (never the values). */
  sources: string[];
}

/** Reads the configured secret sources; `{ env: {}, sources: [] }` when none is configured. */
export async function loadAwsSecrets(env: Record<string, string | undefined>): Promise<LoadedSecrets> {
  const where = SecretSources.safeParse(env);
  if (!where.success) throw ConfigError.of(configProblems(where.error));
  const { TRACEHOUND_SECRET_ARN: arn, TRACEHOUND_SSM_PATH: path } = where.data;
  const found: Record<string, string> = {};
  const sources: string[] = [];
  if (arn) {
    Object.assign(found, checkKeys(await fromSecretsManager(arn), `secret ${arn}`));
    sources.push(`secretsmanager:${arn}`);
  }
  if (path) {
    Object.assign(found, checkKeys(await fromParameterStore(path), `parameters under ${path}`));
    sources.push(`ssm:${path}`);
  }
  const { [ACCESS_YAML]: accessYaml, ...rest } = found;
  return { env: rest, ...(accessYaml !== undefined ? { accessYaml } : {}), sources };
}

function checkKeys(values: Record<string, string>, where: string): Record<string, string> {
  const unknown = Object.keys(values).filter((k) => !SECRET_KEYS.has(k));
  if (unknown.length > 0) {
    throw ConfigError.of(unknown.map((k) => ({ path: where, message: `${k} is not a configuration name (see README)` })));
  }
  return values;
}

async function fromSecretsManager(secretId: string): Promise<Record<string, string>> {
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  const client = new SecretsManagerClient({});
  try {
    const res = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (res.SecretString === undefined) throw ConfigError.of([{ path: 'TRACEHOUND_SECRET_ARN', message: `${secretId} holds no string (a binary secret?)` }]);
    let doc: unknown;
    try {
      doc = JSON.parse(res.SecretString);
    } catch {
      throw ConfigError.of([{ path: 'TRACEHOUND_SECRET_ARN', message: `${secretId} is not JSON; expected {"LINK_SECRET": "…", …}` }]);
    }
    const parsed = SecretJson.safeParse(doc);
    if (!parsed.success) throw ConfigError.of([{ path: 'TRACEHOUND_SECRET_ARN', message: `${secretId}: ${parsed.error.issues[0]?.message}` }]);
    return parsed.data;
  } finally {
    client.destroy();
  }
}

async function fromParameterStore(path: string): Promise<Record<string, string>> {
  const { SSMClient, GetParametersByPathCommand } = await import('@aws-sdk/client-ssm');
  const client = new SSMClient({});
  const prefix = path.endsWith('/') ? path : `${path}/`;
  const values: Record<string, string> = {};
  try {
    let next: string | undefined;
    do {
      const res = await client.send(new GetParametersByPathCommand({ Path: path, WithDecryption: true, Recursive: false, NextToken: next }));
      for (const p of res.Parameters ?? []) {
        if (p.Name === undefined || p.Value === undefined) continue;
        values[p.Name.startsWith(prefix) ? p.Name.slice(prefix.length) : p.Name] = p.Value;
      }
      next = res.NextToken;
    } while (next);
    return values;
  } finally {
    client.destroy();
  }
}
