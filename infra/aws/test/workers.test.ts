import { describe, expect, it } from 'vitest';
import { LINK_SECRET_KEY } from '../secrets.ts';
import { WORKER_PART } from '../workers.ts';
import { flat, only, resourceOf, synthStack, WORKER_IMAGE } from './stack-fixture.ts';

const values = (vars: Array<{ Name: string; Value: unknown }>) => Object.fromEntries(vars.map((v) => [v.Name, flat(v.Value)]));

describe('the workers', () => {
  const { stack, template } = synthStack();
  const [, task] = resourceOf(stack, template, stack.workers.taskDefinition);
  const container = (task.ContainerDefinitions as Array<Record<string, unknown>>)[0]!;

  it('run the orchestrator part of the given image on Fargate, ARM64', () => {
    expect(task).toMatchObject({
      RequiresCompatibilities: ['FARGATE'],
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      Cpu: '256',
      Memory: '512',
    });
    expect(container).toMatchObject({ Image: WORKER_IMAGE, Command: [WORKER_PART] });
  });

  it('as one task by default, in private subnets, without a public address, rolled back when it cannot start', () => {
    const [, service] = only(template, 'AWS::ECS::Service');
    expect(service).toMatchObject({ DesiredCount: 1, LaunchType: 'FARGATE', DeploymentConfiguration: { DeploymentCircuitBreaker: { Enable: true, Rollback: true } } });
    const vpc = (service.NetworkConfiguration as { AwsvpcConfiguration: { AssignPublicIp: string; Subnets: unknown[] } }).AwsvpcConfiguration;
    expect(vpc.AssignPublicIp).toBe('DISABLED');
    for (const s of vpc.Subnets.map(flat)) expect(s).toMatch(/^\{Ref:NetworkVpcprivateSubnet\d/);
    const [, three] = only(synthStack({ workerCount: 3 }).template, 'AWS::ECS::Service');
    expect(three.DesiredCount).toBe(3);
  });

  it('get the function\'s configuration and LINK_SECRET from the secret', () => {
    const [, fn] = resourceOf(stack, template, stack.apiFunction.fn);
    const fnEnv = Object.fromEntries(Object.entries((fn.Environment as { Variables: Record<string, unknown> }).Variables).map(([k, v]) => [k, flat(v)]));
    const { TRACEHOUND_SECRET_ARN: _arn, NODE_OPTIONS: _opts, ...shared } = fnEnv;
    expect(values(container.Environment as Array<{ Name: string; Value: unknown }>)).toEqual(shared);
    const [secretId] = resourceOf(stack, template, stack.secrets.secret);
    expect(values((container.Secrets as Array<{ Name: string; ValueFrom: unknown }>).map((s) => ({ Name: s.Name, Value: s.ValueFrom })))).toEqual({
      [LINK_SECRET_KEY]: `{Ref:${secretId}}:${LINK_SECRET_KEY}::`,
    });
  });

  it('pull an ECR image through a reference to its repository', () => {
    const { stack, template } = synthStack({ workerImage: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/tracehound@sha256:' + 'a'.repeat(64) });
    const [, task] = resourceOf(stack, template, stack.workers.taskDefinition);
    const image = flat((task.ContainerDefinitions as Array<{ Image: unknown }>)[0]!.Image);
    expect(image).toBe(`123456789012.dkr.ecr.eu-west-1.{Ref:AWS::URLSuffix}/team/tracehound@sha256:${'a'.repeat(64)}`);
  });
});

describe('the network', () => {
  it('has a NAT (chat notifications go out) and an S3 gateway endpoint by default', () => {
    const { template } = synthStack();
    expect(Object.keys(template.findResources('AWS::EC2::NatGateway'))).toHaveLength(1);
    const endpoints = Object.values(template.findResources('AWS::EC2::VPCEndpoint')).map((e) => (e as { Properties: Record<string, unknown> }).Properties);
    expect(endpoints.map((e) => [e.VpcEndpointType, flat(e.ServiceName)])).toEqual([['Gateway', 'com.amazonaws.{Ref:AWS::Region}.s3']]);
  });

  it('with natGateways 0, is isolated and reaches secrets, logs and ECR through interface endpoints', () => {
    const { template } = synthStack({ natGateways: 0 });
    expect(template.findResources('AWS::EC2::NatGateway')).toEqual({});
    expect(template.findResources('AWS::EC2::InternetGateway')).toEqual({});
    const endpoints = Object.values(template.findResources('AWS::EC2::VPCEndpoint')).map((e) => (e as { Properties: Record<string, unknown> }).Properties);
    expect(endpoints.map((e) => `${String(e.VpcEndpointType)} ${flat(e.ServiceName).replace(/^.*\{Ref:AWS::Region\}\./, '')}`).sort()).toEqual(
      ['Gateway s3', 'Interface ecr.api', 'Interface ecr.dkr', 'Interface logs', 'Interface secretsmanager'],
    );
  });
});
