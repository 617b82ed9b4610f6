import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { flat, only, resourceOf, standInCodeDir, synthStack } from './stack-fixture.ts';

describe('the API function', () => {
  const { stack, template } = synthStack();
  const [fnId, fn] = resourceOf(stack, template, stack.apiFunction.fn);

  it('runs the build\'s dist/lambda.mjs on Node 24, arm64', () => {
    expect(fn).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'dist/lambda.handler' });
  });

  it('has time for a cold start yet ends before API Gateway gives up (10–29 s)', () => {
    expect(fn.Timeout).toBeGreaterThanOrEqual(10);
    expect(fn.Timeout).toBeLessThanOrEqual(29);
    expect(() => synthStack({ functionTimeout: Duration.seconds(5) })).toThrow(/functionTimeout must be 10–29 s/);
  });

  it('runs in the VPC\'s private subnets with its own security group', () => {
    const [sgId] = resourceOf(stack, template, stack.apiFunction.securityGroup);
    expect((fn.VpcConfig as { SecurityGroupIds: unknown[] }).SecurityGroupIds.map(flat)).toEqual([`{${sgId}.GroupId}`]);
    const subnets = (fn.VpcConfig as { SubnetIds: unknown[] }).SubnetIds.map(flat);
    expect(subnets.length).toBe(2);
    for (const s of subnets) expect(s).toMatch(/^\{Ref:NetworkVpcprivateSubnet\d/);
  });

  it('is configured for the deployment\'s Redis, S3 and secret, never the embedded servers', () => {
    const env = Object.fromEntries(
      Object.entries((fn.Environment as { Variables: Record<string, unknown> }).Variables).map(([k, v]) => [k, flat(v)]),
    );
    const [cacheId] = only(template, 'AWS::ElastiCache::ServerlessCache');
    const [secretId] = only(template, 'AWS::SecretsManager::Secret');
    const [bucketId] = only(template, 'AWS::S3::Bucket');
    expect(env).toMatchObject({
      REDIS_URL: `rediss://{${cacheId}.Endpoint.Address}:{${cacheId}.Endpoint.Port}`,
      S3_ENDPOINT: 'https://s3.${AWS::Region}.${AWS::URLSuffix}',
      S3_BUCKET: `{Ref:${bucketId}}`,
      S3_REGION: '{Ref:AWS::Region}',
      S3_FORCE_PATH_STYLE: 'false',
      TRACEHOUND_SECRET_ARN: `{Ref:${secretId}}`,
      REDIS_CLUSTER: 'true',
      QUEUE_PREFIX: '{tracehound}',
    });
    expect(env.PUBLIC_BASE_URL).toBe(`{${resourceOf(stack, template, stack.apiFunction.api)[0]}.ApiEndpoint}`);
  });

  it('sits behind an HTTP API: $default route, Lambda proxy, payload format 2.0', () => {
    const [apiId] = only(template, 'AWS::ApiGatewayV2::Api');
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    const [integrationId, integration] = only(template, 'AWS::ApiGatewayV2::Integration');
    expect(integration).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0', ApiId: { Ref: apiId } });
    expect(flat(integration.IntegrationUri)).toBe(`{${fnId}.Arn}`);
    const [, route] = only(template, 'AWS::ApiGatewayV2::Route');
    expect(route).toMatchObject({ RouteKey: '$default', ApiId: { Ref: apiId } });
    expect(flat(route.Target)).toBe(`integrations/{Ref:${integrationId}}`);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageName: '$default', AutoDeploy: true, AccessLogSettings: Match.objectLike({}) });
  });

  it('ships only the files the build lists for the function (bundle, chunks, render worker, maps) and playbooks/', () => {
    const repo = standInCodeDir({
      'dist/lambda.mjs.map': '{}',
      'dist/cli.mjs': '',
      'dist/chunk-1.mjs': '',
      'dist/lambda-chunk-OLD.mjs': '',
      'src/config.ts': '',
      'node_modules/x/index.js': '',
      'bpf/bpftrace/x/program.bt': '',
      'package.json': '{}',
      'infra/aws/cdk.out/asset.1/dist/lambda.mjs': '',
    });
    const { stack, template, app } = synthStack({ lambdaCodeDir: repo });
    const [, fn] = resourceOf(stack, template, stack.apiFunction.fn);
    app.synth();
    const hash = flat((fn.Code as { S3Key: unknown }).S3Key).replace(/\.zip$/, '');
    const files = readdirSync(join(app.outdir, `asset.${hash}`), { recursive: true }).map(String).sort();
    expect(files).toEqual(['dist', 'dist/lambda-chunk-A1.mjs', 'dist/lambda.mjs', 'dist/lambda.mjs.map', 'dist/render-worker.mjs', 'playbooks', 'playbooks/x.yaml']);
  });

  it('refuses to synthesize without the build', () => {
    expect(() => synthStack({ lambdaCodeDir: standInCodeDir({}, { withoutBundle: true }) })).toThrow(/dist\/lambda\.mjs is missing: run npm run build first/);
  });
});
