import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/**
 * The bucket's key prefixes tracehound writes (src/storage/keys.ts; test/source-facts.test.ts keeps the two in step):
 * everything (an investigation's files, and the differential flame graphs the API caches under investigations/_diffs/).
 * Nothing is granted outside it.
 */
export const INVESTIGATIONS_PREFIX = 'investigations/';
export const OBJECT_PREFIXES = [INVESTIGATIONS_PREFIX] as const;

export interface StorageProps {
  /** Days after which everything under the prefixes expires. */
  readonly retentionDays: number;
  readonly versioned: boolean;
}

/** The artifact bucket: private, TLS only, expiring, kept when the stack goes. */
export class Storage extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    if (!Number.isInteger(props.retentionDays) || props.retentionDays < 1) {
      throw new Error(`artifactRetentionDays must be a whole number of days ≥ 1, got ${props.retentionDays}`);
    }
    this.bucket = new s3.Bucket(this, 'Bucket', {
      // SSE-S3: no key policy to keep in step with the roles, and no kms:* grants beside the s3 ones.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: props.versioned,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: OBJECT_PREFIXES.map((prefix) => ({
        id: `expire-${prefix.replace(/\/$/, '')}`,
        prefix,
        expiration: Duration.days(props.retentionDays),
        // With versioning, an expired object leaves a noncurrent version: it goes a day later.
        ...(props.versioned && { noncurrentVersionExpiration: Duration.days(1) }),
        abortIncompleteMultipartUploadAfter: Duration.days(1),
      })),
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** Read and write objects under the prefixes, and list investigations: what the API and the orchestrator do. */
  grantReadWrite(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: OBJECT_PREFIXES.map((p) => this.bucket.arnForObjects(`${p}*`)),
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        // Listing is only ever of an investigation's artifacts (and the readiness probe's investigations/).
        conditions: { StringLike: { 's3:prefix': [INVESTIGATIONS_PREFIX, `${INVESTIGATIONS_PREFIX}*`] } },
      }),
    );
  }

  /** What a node agent does: store an investigation's artifacts, nothing else. */
  artifactWriteStatement(): iam.PolicyStatement {
    return new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [this.bucket.arnForObjects(`${INVESTIGATIONS_PREFIX}*`)] });
  }
}
