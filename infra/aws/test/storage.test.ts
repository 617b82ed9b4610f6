import { describe, expect, it } from 'vitest';
import { OBJECT_PREFIXES } from '../storage.ts';
import { flat, resourceOf, synthStack } from './stack-fixture.ts';

describe('the artifact bucket', () => {
  const { stack, template } = synthStack();
  const [bucketId, bucket] = resourceOf(stack, template, stack.storage.bucket);

  it('is encrypted and blocks every kind of public access', () => {
    expect(bucket.BucketEncryption).toEqual({ ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] });
    expect(bucket.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
  });

  it('refuses every request not made over TLS', () => {
    const policies = Object.values(template.findResources('AWS::S3::BucketPolicy')) as Array<{ Properties: { Bucket: unknown; PolicyDocument: { Statement: Array<Record<string, unknown>> } } }>;
    expect(policies.map((p) => flat(p.Properties.Bucket))).toEqual([`{Ref:${bucketId}}`]);
    const deny = policies[0]!.Properties.PolicyDocument.Statement.filter(
      (s) => s.Effect === 'Deny' && JSON.stringify(s.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }),
    );
    expect(deny).toHaveLength(1);
    expect(deny[0]).toMatchObject({ Action: 's3:*', Principal: { AWS: '*' } });
    expect((deny[0]!.Resource as unknown[]).map(flat).sort()).toEqual([`{${bucketId}.Arn}`, `{${bucketId}.Arn}/*`]);
  });

  it.each([7, 90])('expires every prefix tracehound writes after artifactRetentionDays (%i)', (days) => {
    const { stack, template } = synthStack({ artifactRetentionDays: days });
    const [, bucket] = resourceOf(stack, template, stack.storage.bucket);
    const rules = (bucket.LifecycleConfiguration as { Rules: Array<Record<string, unknown>> }).Rules;
    expect(rules.map((r) => [r.Prefix, r.ExpirationInDays, r.Status])).toEqual(OBJECT_PREFIXES.map((p) => [p, days, 'Enabled']));
  });

  it('keeps a noncurrent version one day when versioned, and no versions otherwise', () => {
    expect(bucket.VersioningConfiguration).toBeUndefined();
    const { stack, template } = synthStack({ bucketVersioned: true });
    const [, versioned] = resourceOf(stack, template, stack.storage.bucket);
    expect(versioned.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    const rules = (versioned.LifecycleConfiguration as { Rules: Array<Record<string, unknown>> }).Rules;
    for (const r of rules) expect(r.NoncurrentVersionExpiration).toEqual({ NoncurrentDays: 1 });
  });

  it('is kept when the stack is deleted', () => {
    expect(template.toJSON().Resources[bucketId]).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('refuses a retention that is not a whole number of days', () => {
    expect(() => synthStack({ artifactRetentionDays: 0 })).toThrow(/artifactRetentionDays/);
    expect(() => synthStack({ artifactRetentionDays: 1.5 })).toThrow(/artifactRetentionDays/);
  });
});
