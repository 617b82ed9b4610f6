/**
 * The API as an AWS Lambda function (entry/lambda.ts), driven in-process with the events API Gateway (HTTP API,
 * payload 2.0) and an Application Load Balancer send, against the run's real Redis and S3 protocol, with its secrets
 * read over Secrets Manager's and SSM's own protocol — through a whole investigation carried out by a real agent.
 */
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLambdaHandler, type TracehoundLambda } from '../../entry/lambda.ts';
import { generateToken, hashToken } from '../../src/auth/tokens.ts';
import type { Investigation } from '../../src/core/investigation.ts';
import { startAwsJsonServer, type AwsJsonServer } from '../helpers/aws-json-server.ts';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { createBurnerCgroup, type BurnerCgroup } from '../helpers/burner.ts';
import { albEvent, apiGatewayV2Event, lambdaContext, readAnswer, type EventRequest, type LambdaAnswer } from '../helpers/lambda-events.ts';
import { blocksOf, SLACK_SECRET, slashCommandRequest } from '../helpers/slack.ts';
import { describeSteps } from '../helpers/steps.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:tracehound-api-AbCdEf';
const SSM_PATH = '/tracehound/test';
const LINK_SECRET = 'lambda-link-secret-0123456789abcdef0123';


describe.skipIf(skipBpf)(bpfSuiteName('the API as an AWS Lambda function, through a whole investigation'), () => {
  let sys: TestSystem;
  let aws: AwsJsonServer;
  let fn: TracehoundLambda;
  let burn: BurnerCgroup;
  const token = generateToken();
  const accessYaml = stringify({ tokens: [{ name: 'lambda-admin', sha256: hashToken(token), scopes: ['admin'] }], slack: { rules: [{ channels: ['C0SRE'] }] } });

  /** The system's environment as a Lambda function would have it: no access file, no link secret, no files. */
  const lambdaEnv = (extra: Record<string, string>) => {
    const { ACCESS_FILE: _a, LINK_SECRET: _l, DATA_DIR: _d, ...env } = sys.env;
    return { ...env, LOG_LEVEL: 'silent', ...extra };
  };
  const invoke = async (f: TracehoundLambda, event: ReturnType<typeof apiGatewayV2Event>): Promise<LambdaAnswer> => readAnswer(await f(event, lambdaContext()));
  const authed = (req: EventRequest): EventRequest => ({ ...req, headers: { authorization: `Bearer ${token}`, ...req.headers } });

  beforeAll(async () => {
    assertBpf();
    burn = createBurnerCgroup('lambda');
    // The API of startSystem is not used: the Lambda function is the API here, beside a real orchestrator and agent.
    sys = await startSystem({ parts: ['orchestrator', 'agent'] });
    aws = await startAwsJsonServer({
      secrets: { [SECRET_ARN]: JSON.stringify({ LINK_SECRET, SLACK_SIGNING_SECRET: SLACK_SECRET, ACCESS_YAML: accessYaml }) },
      parameters: { [`${SSM_PATH}/LINK_SECRET`]: LINK_SECRET, [`${SSM_PATH}/ACCESS_YAML`]: accessYaml, [`${SSM_PATH}/nested/IGNORED`]: 'x' },
    }, { region: 'us-east-1', accessKeyId: 'AKIDLAMBDATEST000000', secretAccessKey: 'lambda-test-secret-access-key-000000000000' });
    fn = createLambdaHandler(lambdaEnv({ TRACEHOUND_SECRET_ARN: SECRET_ARN }));
  });

  afterAll(async () => {
    burn?.remove();
    await fn?.close();
    await sys?.stop();
    await aws?.close();
  });

  it('composes from the secret in Secrets Manager, and refuses a request without a token as problem+json', async () => {
    const res = await invoke(fn, apiGatewayV2Event({ method: 'GET', path: '/v1/investigations' }));
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json).toMatchObject({ status: 401 });
    const read = aws.calls.filter((c) => c.target === 'secretsmanager.GetSecretValue');
    expect(read.map((c) => c.body.SecretId)).toEqual([SECRET_ARN]);
    // Signed by the real SDK with the environment's credentials.
    expect(read[0]!.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDLAMBDATEST000000\//);
  });

  it('serves the same OpenAPI document through an ALB event', async () => {
    const res = await invoke(fn, albEvent({ method: 'GET', path: '/openapi.json' }));
    expect(res.statusCode).toBe(200);
    const paths = Object.keys((res.json as { paths: Record<string, unknown> }).paths);
    expect(paths).toContain('/v1/investigations');
    expect(paths).toContain('/v1/chatops/slack/commands');
  });

  it('starts an investigation from API Gateway, which a real agent carries out, and answers polls and artifacts', async () => {
    burn.start();
    const body = JSON.stringify({ playbook: 'cpu-profile', target: { cgroup: burn.cg.path }, params: { duration: '2s', hz: 199 } });
    const started = await invoke(fn, apiGatewayV2Event(authed({ method: 'POST', path: '/v1/investigations', headers: { 'content-type': 'application/json' }, body, base64: true })));
    expect(started.statusCode, started.text).toBe(202);
    const id = started.json.id as string;

    // No event stream through Lambda: polling is the way, through either front.
    let inv: Investigation | undefined;
    const deadline = Date.now() + 60_000;
    for (let n = 0; Date.now() < deadline; n++) {
      const poll = n % 2 === 0 ? albEvent(authed({ method: 'GET', path: `/v1/investigations/${id}` })) : apiGatewayV2Event(authed({ method: 'GET', path: `/v1/investigations/${id}` }));
      const res = await invoke(fn, poll);
      expect(res.statusCode).toBe(200);
      inv = res.json as unknown as Investigation;
      if (['succeeded', 'failed', 'cancelled'].includes(inv.status)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(inv?.status, describeSteps(inv?.steps ?? [])).toBe('succeeded');
    expect(inv!.summary?.headline).toMatch(/crunch_alpha/);

    const svg = await invoke(fn, apiGatewayV2Event(authed({ method: 'GET', path: `/v1/investigations/${id}/artifacts/cpu/test-node/flamegraph.svg` })));
    expect(svg.statusCode).toBe(200);
    expect(svg.headers['content-type']).toMatch(/^image\/svg\+xml/);
    expect(svg.text).toContain('crunch_alpha');

    // Links in answers point where the requests arrived (PUBLIC_BASE_URL unset): API Gateway's domain.
    const report = await invoke(fn, apiGatewayV2Event(authed({ method: 'GET', path: `/v1/investigations/${id}/report` })));
    expect(report.statusCode).toBe(200);
    expect(report.text).toContain(inv!.summary!.headline.slice(0, 40).replace(/&/g, '&amp;'));

    const events = await invoke(fn, apiGatewayV2Event(authed({ method: 'GET', path: `/v1/investigations/${id}/events` })));
    expect(events.statusCode).toBe(501);
    expect(events.json.detail).toMatch(/poll GET \/v1\/investigations\/\{id\}/);
  });

  it('answers a signed slash command whose body API Gateway passed base64-encoded', async () => {
    const req = slashCommandRequest('help', { responseUrl: 'https://hooks.slack.com/commands/T0001/1/abc' });
    const res = await invoke(fn, apiGatewayV2Event({ method: 'POST', path: '/v1/chatops/slack/commands', headers: req.headers, body: req.body, base64: true }));
    expect(res.statusCode, res.text).toBe(200);
    expect(res.json).toMatchObject({ response_type: 'ephemeral' });
    expect(blocksOf(res.json).text).toContain('/investigate status');
    const tampered = slashCommandRequest('help', { responseUrl: 'https://hooks.slack.com/commands/T0001/1/abc', tamper: (b) => b.replace('text=', 'text=cancel+') });
    expect((await invoke(fn, apiGatewayV2Event({ method: 'POST', path: '/v1/chatops/slack/commands', headers: tampered.headers, body: tampered.body }))).statusCode).toBe(401);
  });

  it('reuses its Redis connections across invocations', async () => {
    const redis = new Redis(sys.env.REDIS_URL!);
    try {
      const clients = async () => (await redis.client('LIST') as string).trim().split('\n').length;
      await invoke(fn, albEvent(authed({ method: 'GET', path: '/v1/playbooks' })));
      const before = await clients();
      for (let i = 0; i < 5; i++) expect((await invoke(fn, albEvent(authed({ method: 'GET', path: '/v1/playbooks' })))).statusCode).toBe(200);
      expect(await clients()).toBe(before);
      // The secret was read once, by the first invocation.
      expect(aws.calls.filter((c) => c.target === 'secretsmanager.GetSecretValue')).toHaveLength(1);
    } finally {
      redis.disconnect();
    }
  });

  it('composes from SSM parameters under a path, reading every page', async () => {
    const viaSsm = createLambdaHandler(lambdaEnv({ TRACEHOUND_SSM_PATH: SSM_PATH }));
    try {
      const res = await invoke(viaSsm, apiGatewayV2Event(authed({ method: 'GET', path: '/v1/playbooks' })));
      expect(res.statusCode, res.text).toBe(200);
      const pages = aws.calls.filter((c) => c.target === 'AmazonSSM.GetParametersByPath');
      expect(pages.length).toBe(2);
      expect(pages[0]!.body).toMatchObject({ Path: SSM_PATH, WithDecryption: true });
    } finally {
      await viaSsm.close();
    }
  });

  it('fails a cold start with what is wrong, and tries again on the next invocation', async () => {
    const noRedis = createLambdaHandler({ ...lambdaEnv({ TRACEHOUND_SECRET_ARN: SECRET_ARN }), REDIS_URL: '' });
    await expect(noRedis(apiGatewayV2Event({ method: 'GET', path: '/healthz' }), lambdaContext())).rejects.toThrow(/REDIS_URL: required here/);
    const badKey = createLambdaHandler(lambdaEnv({ TRACEHOUND_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:missing' }));
    await expect(badKey(apiGatewayV2Event({ method: 'GET', path: '/healthz' }), lambdaContext())).rejects.toThrow(/can't find the specified secret/);
    const calls = aws.calls.length;
    await expect(badKey(apiGatewayV2Event({ method: 'GET', path: '/healthz' }), lambdaContext())).rejects.toThrow();
    expect(aws.calls.length).toBe(calls + 1);
  });
});
