import { describe, expect, it } from 'vitest';
import { CACHE_PORT } from '../cache.ts';
import { flat, only, resourceOf, synthStack } from './stack-fixture.ts';

type Ingress = Record<string, unknown>;

/** Every ingress rule of a security group: inline ones and separate AWS::EC2::SecurityGroupIngress resources. */
function ingressOf(template: ReturnType<typeof synthStack>['template'], sgId: string, inline: Ingress[] | undefined): Ingress[] {
  const separate = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress'))
    .map((r) => (r as { Properties: Ingress }).Properties)
    .filter((p) => flat(p.GroupId) === `{${sgId}.GroupId}`);
  return [...(inline ?? []), ...separate];
}

describe('the cache', () => {
  const { stack, template } = synthStack();
  const [, cache] = only(template, 'AWS::ElastiCache::ServerlessCache');
  const [sgId, sg] = resourceOf(stack, template, stack.cache.securityGroup);

  it('is ElastiCache Serverless (Valkey) in the VPC\'s private subnets, behind its own security group', () => {
    expect(cache).toMatchObject({ Engine: 'valkey', MajorEngineVersion: '8' });
    expect((cache.SecurityGroupIds as unknown[]).map(flat)).toEqual([`{${sgId}.GroupId}`]);
    const subnets = (cache.SubnetIds as unknown[]).map(flat);
    expect(subnets.length).toBe(2);
    for (const s of subnets) expect(s).toMatch(/^\{Ref:NetworkVpcprivateSubnet\d/);
    expect(flat(sg.VpcId)).toMatch(/^\{Ref:NetworkVpc\w+\}$/);
  });

  it(`lets in ${CACHE_PORT} from the function's and the workers' security groups, nothing else`, () => {
    const rules = ingressOf(template, sgId, sg.SecurityGroupIngress as Ingress[] | undefined);
    const sources = rules.map((r) => [r.IpProtocol, r.FromPort, r.ToPort, flat(r.SourceSecurityGroupId ?? r.CidrIp ?? r.CidrIpv6 ?? r.SourcePrefixListId)]);
    const [fnSg] = resourceOf(stack, template, stack.apiFunction.securityGroup);
    const [workerSg] = resourceOf(stack, template, stack.workers.securityGroup);
    expect(sources.sort()).toEqual(
      [`{${fnSg}.GroupId}`, `{${workerSg}.GroupId}`].sort().map((src) => ['tcp', CACHE_PORT, CACHE_PORT, src]),
    );
  });

  it('lets in the extra security groups named (a cluster\'s nodes) on the same port', () => {
    const { stack, template } = synthStack({ redisClientSecurityGroupIds: ['sg-0123456789abcdef0'] });
    const [sgId, sg] = resourceOf(stack, template, stack.cache.securityGroup);
    const extra = ingressOf(template, sgId, sg.SecurityGroupIngress as Ingress[] | undefined).filter((r) => r.SourceSecurityGroupId === 'sg-0123456789abcdef0');
    expect(extra.map((r) => [r.IpProtocol, r.FromPort, r.ToPort])).toEqual([['tcp', CACHE_PORT, CACHE_PORT]]);
  });

  it('sends nothing out', () => {
    const egress = (sg.SecurityGroupEgress as Ingress[]).map((r) => r.CidrIp);
    // CDK's marker for "no egress": a rule that matches no traffic.
    expect(egress).toEqual(['255.255.255.255/32']);
  });
});
