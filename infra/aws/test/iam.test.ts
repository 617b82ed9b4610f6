import { describe, expect, it } from 'vitest';
import { INVESTIGATIONS_PREFIX, OBJECT_PREFIXES } from '../storage.ts';
import { actionsOf, flat, identityStatements, resourceOf, resourcesOf, synthStack, WORKER_IMAGE } from './stack-fixture.ts';

/** Verbs that only read or list (ecr:GetAuthorizationToken exists only on `*`). */
const READ_ONLY = /^[a-z0-9-]+:(Get|List|Describe|BatchGet)[A-Za-z]*$/;
const ECR_IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/tracehound:1.0.0';

describe.each([
  ['an image from another registry', WORKER_IMAGE],
  ['an ECR image', ECR_IMAGE],
])('IAM, with %s', (_, workerImage) => {
  const { stack, template } = synthStack({ workerImage });
  const allows = identityStatements(template).filter((s) => s.statement.Effect === 'Allow');
  const roleId = (role: Parameters<typeof resourceOf>[2]) => resourceOf(stack, template, role)[0];
  const fnRole = roleId(stack.apiFunction.fn.role!);
  const taskRole = roleId(stack.workers.taskDefinition.taskRole);
  const executionRole = roleId(stack.workers.taskDefinition.executionRole!);

  it('has policies to check', () => {
    expect(allows.length).toBeGreaterThan(5);
  });

  it('allows no wildcard action anywhere', () => {
    const wild = allows.filter((s) => actionsOf(s.statement).some((a) => a.includes('*')));
    expect(wild).toEqual([]);
  });

  it('allows on Resource "*" only actions that read', () => {
    const onStar = allows.filter((s) => resourcesOf(s.statement).includes('*'));
    for (const s of onStar) expect(actionsOf(s.statement).filter((a) => !READ_ONLY.test(a))).toEqual([]);
  });

  it('grants S3 only Get/PutObject under the prefixes tracehound writes, and ListBucket of investigations/ only', () => {
    const [bucketId] = resourceOf(stack, template, stack.storage.bucket);
    const s3 = allows.filter((s) => actionsOf(s.statement).some((a) => a.startsWith('s3:')));
    const lists = s3.filter((s) => actionsOf(s.statement).includes('s3:ListBucket'));
    const objects = s3.filter((s) => !lists.includes(s));
    for (const { statement } of lists) {
      expect(actionsOf(statement)).toEqual(['s3:ListBucket']);
      expect(resourcesOf(statement)).toEqual([`{${bucketId}.Arn}`]);
      expect(Object.keys(statement.Condition ?? {})).toEqual(['StringLike']);
      const prefixes = [statement.Condition?.StringLike?.['s3:prefix'] ?? []].flat();
      expect(prefixes.length).toBeGreaterThan(0);
      for (const p of prefixes) expect(p.startsWith(INVESTIGATIONS_PREFIX)).toBe(true);
    }
    for (const { statement } of objects) {
      for (const a of actionsOf(statement)) expect(['s3:GetObject', 's3:PutObject']).toContain(a);
      for (const r of resourcesOf(statement)) expect(OBJECT_PREFIXES.map((p) => `{${bucketId}.Arn}/${p}*`)).toContain(r);
    }
    const holders = (action: string) => [...new Set(s3.filter((s) => actionsOf(s.statement).includes(action)).flatMap((s) => s.roles))].sort();
    expect(holders('s3:GetObject')).toEqual([fnRole, taskRole].sort());
    expect(holders('s3:ListBucket')).toEqual([fnRole, taskRole].sort());
  });

  it('gives the node agents\' policy PutObject under investigations/ and nothing else', () => {
    const [policyId] = resourceOf(stack, template, stack.agentPolicy);
    const [bucketId] = resourceOf(stack, template, stack.storage.bucket);
    const mine = allows.filter((s) => s.holder === policyId).map((s) => [actionsOf(s.statement), resourcesOf(s.statement)]);
    expect(mine).toEqual([[['s3:PutObject'], [`{${bucketId}.Arn}/${INVESTIGATIONS_PREFIX}*`]]]);
  });

  it('lets only the function and the workers\' task execution read the secret', () => {
    const [secretId] = resourceOf(stack, template, stack.secrets.secret);
    const reads = allows.filter((s) => actionsOf(s.statement).some((a) => a.startsWith('secretsmanager:')));
    expect([...new Set(reads.flatMap((s) => s.roles))].sort()).toEqual([fnRole, executionRole].sort());
    for (const { statement } of reads) {
      expect(resourcesOf(statement)).toEqual([`{Ref:${secretId}}`]);
      for (const a of actionsOf(statement)) expect(a).toMatch(READ_ONLY);
    }
    expect(reads.find((s) => s.roles.includes(fnRole))!.statement.Action).toBe('secretsmanager:GetSecretValue');
  });

  it('attaches no managed policy but AWS\'s Lambda execution ones', () => {
    const roles = Object.values(template.findResources('AWS::IAM::Role')) as Array<{ Properties: { ManagedPolicyArns?: unknown[] } }>;
    const arns = new Set(roles.flatMap((r) => (r.Properties.ManagedPolicyArns ?? []).map(flat)));
    for (const arn of arns) {
      expect(arn).toMatch(/^arn:(\$\{AWS::Partition\}|\{Ref:AWS::Partition\}):iam::aws:policy\/service-role\/AWSLambda(Basic|VPCAccess)ExecutionRole$/);
    }
  });
});

describe('IAM for an ECR image', () => {
  it('lets the execution role pull from that one repository', () => {
    const { stack, template } = synthStack({ workerImage: ECR_IMAGE });
    const executionRole = resourceOf(stack, template, stack.workers.taskDefinition.executionRole!)[0];
    const pulls = identityStatements(template).filter((s) => s.roles.includes(executionRole) && actionsOf(s.statement).includes('ecr:BatchGetImage'));
    expect(pulls.map((s) => resourcesOf(s.statement))).toEqual([['arn:{Ref:AWS::Partition}:ecr:eu-west-1:123456789012:repository/tracehound']]);
    // The registry's login token exists only on `*`: the one grant there, and it reads.
    const onStar = identityStatements(template).filter((s) => resourcesOf(s.statement).includes('*'));
    expect(onStar.map((s) => [s.roles, s.statement.Action])).toEqual([[[executionRole], 'ecr:GetAuthorizationToken']]);
  });
});
