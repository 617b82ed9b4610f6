/**
 * Secrets for a Lambda deployment (src/secrets/aws-secrets.ts), read by the real SDK clients over Secrets Manager's
 * and SSM's own protocol from a loopback server: what is read, and the clear errors for what cannot be used.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.ts';
import { loadAwsSecrets } from '../../src/secrets/aws-secrets.ts';
import { startAwsJsonServer, type AwsJsonServer } from '../helpers/aws-json-server.ts';

const ARN = (name: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}`;

describe('secrets from AWS Secrets Manager and SSM Parameter Store', () => {
  let aws: AwsJsonServer;

  beforeAll(async () => {
    aws = await startAwsJsonServer({
      secrets: {
        [ARN('good')]: JSON.stringify({ LINK_SECRET: 'x'.repeat(40), SLACK_SIGNING_SECRET: 'slack-secret-1', ACCESS_YAML: 'tokens: []\n' }),
        [ARN('typo')]: JSON.stringify({ LINK_SECRET: 'x'.repeat(40), SLACK_SIGNNG_SECRET: 'oops' }),
        [ARN('not-json')]: 'LINK_SECRET=abc',
        [ARN('nested')]: JSON.stringify({ LINK_SECRET: { value: 'x' } }),
      },
      parameters: { '/th/prod/LINK_SECRET': 'y'.repeat(40), '/th/prod/REDIS_URL': 'rediss://cache:6379', '/th/prod/deeper/LINK_SECRET': 'no' },
    }, { region: 'eu-west-1', accessKeyId: 'AKIDSECRETSTEST00000', secretAccessKey: 'secrets-test-secret-access-key-0000000000' });
  });
  afterAll(async () => {
    await aws?.close();
  });

  it('reads nothing and calls nothing when neither source is configured', async () => {
    const before = aws.calls.length;
    expect(await loadAwsSecrets({})).toEqual({ env: {}, sources: [] });
    expect(aws.calls.length).toBe(before);
  });

  it('lays a secret’s values over the configuration and keeps the access file apart', async () => {
    const got = await loadAwsSecrets({ TRACEHOUND_SECRET_ARN: ARN('good') });
    expect(got).toEqual({ env: { LINK_SECRET: 'x'.repeat(40), SLACK_SIGNING_SECRET: 'slack-secret-1' }, accessYaml: 'tokens: []\n', sources: [`secretsmanager:${ARN('good')}`] });
  });

  it('reads the parameters directly under a path, decrypted, page by page', async () => {
    const got = await loadAwsSecrets({ TRACEHOUND_SSM_PATH: '/th/prod' });
    expect(got.env).toEqual({ LINK_SECRET: 'y'.repeat(40), REDIS_URL: 'rediss://cache:6379' });
    const pages = aws.calls.filter((c) => c.target === 'AmazonSSM.GetParametersByPath' && c.body.Path === '/th/prod');
    expect(pages).toHaveLength(2);
    expect(pages.every((p) => p.body.WithDecryption === true)).toBe(true);
  });

  it.each([
    ['a name that is not a configuration name', { TRACEHOUND_SECRET_ARN: ARN('typo') }, /SLACK_SIGNNG_SECRET is not a configuration name/],
    ['a secret that is not JSON', { TRACEHOUND_SECRET_ARN: ARN('not-json') }, /is not JSON/],
    ['a value that is not a string', { TRACEHOUND_SECRET_ARN: ARN('nested') }, /TRACEHOUND_SECRET_ARN/],
    ['a relative parameter path', { TRACEHOUND_SSM_PATH: 'th/prod' }, /TRACEHOUND_SSM_PATH: expected a path/],
  ])('refuses %s with a ConfigError naming it', async (_what, env, message) => {
    const err = await loadAwsSecrets(env).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(message);
  });

  it('passes on the service’s own error for a secret that does not exist', async () => {
    await expect(loadAwsSecrets({ TRACEHOUND_SECRET_ARN: ARN('missing') })).rejects.toThrow(/can't find the specified secret/);
  });
});
