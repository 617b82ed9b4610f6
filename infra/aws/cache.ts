import { Fn, Names } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import { Construct } from 'constructs';

/** The port ElastiCache Serverless serves on (TLS); its read-replica port 6380 is not opened: nothing reads from replicas. */
export const CACHE_PORT = 6379;

export interface CacheProps {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  /** Upper bound of stored data, so a runaway queue costs a refusal rather than an unbounded bill. */
  readonly maxStorageGb: number;
}

/**
 * Redis for the queues and records: ElastiCache Serverless with the Valkey engine (Redis 7.2 semantics, ≥ the 6.2
 * BullMQ needs; cheaper than Redis OSS and billed from 100 MB rather than 1 GB), TLS always on, reachable on its port
 * only from the security groups allowed in.
 */
export class Cache extends Construct {
  readonly securityGroup: ec2.SecurityGroup;
  /** rediss://<endpoint>:<port>, as REDIS_URL. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: CacheProps) {
    super(scope, id);
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'tracehound cache: Redis protocol over TLS from its clients only',
      allowAllOutbound: false,
    });
    const cache = new elasticache.CfnServerlessCache(this, 'Cache', {
      serverlessCacheName: Names.uniqueResourceName(this, { maxLength: 40, separator: '-' }).toLowerCase(),
      engine: 'valkey',
      majorEngineVersion: '8',
      description: 'tracehound queues and records',
      securityGroupIds: [this.securityGroup.securityGroupId],
      subnetIds: props.vpc.selectSubnets(props.subnets).subnetIds,
      cacheUsageLimits: { dataStorage: { maximum: props.maxStorageGb, unit: 'GB' } },
    });
    this.url = Fn.join('', ['rediss://', cache.attrEndpointAddress, ':', cache.attrEndpointPort]);
  }

  /** Lets a client security group reach the cache's port. */
  allowFrom(peer: ec2.ISecurityGroup, description: string): void {
    this.securityGroup.addIngressRule(peer, ec2.Port.tcp(CACHE_PORT), description);
  }
}
