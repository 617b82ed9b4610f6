import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Secrets Manager's and SSM's wire protocol (AWS JSON 1.1: POST / with X-Amz-Target naming the action) on loopback,
 * for the real SDK clients to talk to. It answers from the data it is given and records every call, signature header
 * included, as AWS would receive it. While it runs, the SDK clients of this process are pointed at it the way a
 * Lambda environment configures them (process.env: endpoints, region, credentials); `close` puts that back.
 */
export interface AwsJsonServer {
  url: string;
  calls: { target: string; body: Record<string, unknown>; authorization: string | undefined }[];
  close(): Promise<void>;
}

/** What the SDK reads from process.env: set while the server runs, restored by `close`. */
const SDK_ENV = ['AWS_ENDPOINT_URL_SECRETS_MANAGER', 'AWS_ENDPOINT_URL_SSM', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;

export async function startAwsJsonServer(
  data: { secrets?: Record<string, string>; parameters?: Record<string, string> },
  sdk: { region: string; accessKeyId: string; secretAccessKey: string },
): Promise<AwsJsonServer> {
  const calls: AwsJsonServer['calls'] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      calls.push({ target, body, authorization: req.headers.authorization });
      const send = (status: number, doc: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(doc));
      };
      if (target === 'secretsmanager.GetSecretValue') {
        const id = String(body.SecretId);
        const value = data.secrets?.[id];
        if (value === undefined) return send(400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
        return send(200, { ARN: id, Name: id.split(':').pop(), SecretString: value, VersionId: 'v1', VersionStages: ['AWSCURRENT'] });
      }
      if (target === 'AmazonSSM.GetParametersByPath') {
        const path = String(body.Path).replace(/\/?$/, '/');
        const found = Object.entries(data.parameters ?? {}).filter(([name]) => name.startsWith(path) && !name.slice(path.length).includes('/'));
        // Pages of one, so that the client's NextToken loop is exercised.
        const start = Number(body.NextToken ?? 0);
        const page = found.slice(start, start + 1).map(([Name, Value]) => ({ Name, Value, Type: 'SecureString', Version: 1 }));
        return send(200, { Parameters: page, ...(start + 1 < found.length ? { NextToken: String(start + 1) } : {}) });
      }
      return send(400, { __type: 'UnknownOperationException', message: target });
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const saved = Object.fromEntries(SDK_ENV.map((k) => [k, process.env[k]]));
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: url,
    AWS_ENDPOINT_URL_SSM: url,
    AWS_REGION: sdk.region,
    AWS_ACCESS_KEY_ID: sdk.accessKeyId,
    AWS_SECRET_ACCESS_KEY: sdk.secretAccessKey,
  });
  return {
    url,
    calls,
    close: async () => {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}
