import { readFileSync } from 'node:fs';
import type { LambdaContext, LambdaEvent } from 'hono/aws-lambda';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/lambda/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;

export interface EventRequest {
  method: string;
  /** Path with an optional query string. */
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Send the body base64-encoded, as API Gateway does for a binary media type. */
  base64?: boolean;
}

/** AWS's documented API Gateway HTTP API (payload 2.0) example, carrying this request instead of its own. */
export function apiGatewayV2Event(req: EventRequest): LambdaEvent {
  const e = fixture('apigw-http-v2.json') as Record<string, unknown> & { requestContext: { http: Record<string, unknown>; domainName: string } };
  const [rawPath, rawQuery = ''] = req.path.split('?') as [string, string?];
  e.rawPath = rawPath;
  e.rawQueryString = rawQuery;
  e.queryStringParameters = rawQuery ? Object.fromEntries(new URLSearchParams(rawQuery)) : undefined;
  e.cookies = undefined;
  e.pathParameters = undefined;
  e.headers = { host: e.requestContext.domainName, 'x-forwarded-proto': 'https', ...req.headers };
  e.requestContext.http = { ...e.requestContext.http, method: req.method, path: rawPath };
  e.body = req.body === undefined ? undefined : req.base64 ? Buffer.from(req.body).toString('base64') : req.body;
  e.isBase64Encoded = req.base64 === true;
  return e as unknown as LambdaEvent;
}

/** AWS's documented Application Load Balancer request event, carrying this request instead of its own. */
export function albEvent(req: EventRequest): LambdaEvent {
  const e = fixture('alb.json') as Record<string, unknown> & { headers: Record<string, string> };
  const [path, rawQuery = ''] = req.path.split('?') as [string, string?];
  e.httpMethod = req.method;
  e.path = path;
  e.queryStringParameters = Object.fromEntries(new URLSearchParams(rawQuery));
  e.headers = { ...e.headers, ...req.headers };
  e.body = req.body === undefined ? '' : req.base64 ? Buffer.from(req.body).toString('base64') : req.body;
  e.isBase64Encoded = req.base64 === true;
  return e as unknown as LambdaEvent;
}

export const lambdaContext = (): LambdaContext =>
  ({
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'tracehound-api',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:tracehound-api',
    memoryLimitInMB: '1024',
    awsRequestId: crypto.randomUUID(),
    logGroupName: '/aws/lambda/tracehound-api',
    logStreamName: '2026/12/06/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  }) as unknown as LambdaContext;

export interface LambdaAnswer {
  statusCode: number;
  headers: Record<string, string>;
  /** The body as text (decoded when the function sent it base64-encoded). */
  text: string;
  bytes: Buffer;
  json: Record<string, unknown>;
}

/** A Lambda proxy result read as an HTTP response. */
export function readAnswer(result: unknown): LambdaAnswer {
  const r = result as { statusCode: number; headers?: Record<string, string>; body?: string; isBase64Encoded?: boolean };
  const bytes = Buffer.from(r.body ?? '', r.isBase64Encoded ? 'base64' : 'utf8');
  const text = bytes.toString('utf8');
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON
  }
  return { statusCode: r.statusCode, headers: r.headers ?? {}, text, bytes, json };
}
