import { Aws, CfnOutput, Duration, Fn, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { Alarms } from './alarms.ts';
import { ApiFunction } from './api-function.ts';
import { Cache } from './cache.ts';
import { Network } from './network.ts';
import { LINK_SECRET_KEY, Secrets } from './secrets.ts';
import { Storage } from './storage.ts';
import { Workers } from './workers.ts';

export interface TracehoundStackProps extends StackProps {
  /** Folder holding the build's dist/lambda.mjs and playbooks/: the repository root after `npm run build`. */
  readonly lambdaCodeDir: string;
  /** The tracehound image (infra's Dockerfile) the workers run, e.g. <account>.dkr.ecr.<region>.amazonaws.com/tracehound:1.2.0. */
  readonly workerImage: string;
  /** Days investigations' artifacts are kept. @default 30 */
  readonly artifactRetentionDays?: number;
  /** @default false */
  readonly bucketVersioned?: boolean;
  /** @default 1024 */
  readonly functionMemoryMiB?: number;
  /** 10–29 s. @default 29 s */
  readonly functionTimeout?: Duration;
  /** @default none: the account's unreserved pool */
  readonly functionReservedConcurrency?: number;
  /** @default 256 (.25 vCPU) */
  readonly workerCpu?: number;
  /** @default 512 */
  readonly workerMemoryMiB?: number;
  /** @default 1 */
  readonly workerCount?: number;
  /** Of the function's, the API's access and the workers' logs. @default one month */
  readonly logRetention?: logs.RetentionDays;
  /** SNS topic the alarms (and their recoveries) go to. @default none: CloudWatch only */
  readonly alarmTopicArn?: string;
  /** Security groups (a cluster's nodes, for the node agents) also allowed to reach the cache. @default none */
  readonly redisClientSecurityGroupIds?: readonly string[];
  /** @default 5 */
  readonly cacheMaxStorageGb?: number;
  /**
   * Prefix of every Redis key. ElastiCache Serverless is a Redis Cluster: the hash tag puts all of tracehound's keys
   * in one slot, which BullMQ's multi-key scripts need. @default {tracehound}
   */
  readonly queuePrefix?: string;
  /** An existing VPC with PRIVATE_WITH_EGRESS subnets. @default a new one */
  readonly vpc?: ec2.IVpc;
  /** NAT gateways of the new VPC; 0 isolates it (AWS through interface endpoints, no chat notifications). @default 1 */
  readonly natGateways?: number;
  /** Where users reach the API (a custom domain). @default the HTTP API's endpoint */
  readonly publicBaseUrl?: string;
  /** More configuration for the function and the workers (src/config.ts), e.g. LOG_LEVEL, RATE_LIMIT. */
  readonly environment?: Record<string, string>;
}

/** tracehound on AWS: the API as a Lambda function, the workers on Fargate, Redis, the artifact bucket, secrets, alarms. */
export class TracehoundStack extends Stack {
  readonly storage: Storage;
  readonly cache: Cache;
  readonly secrets: Secrets;
  readonly apiFunction: ApiFunction;
  readonly workers: Workers;
  readonly alarms: Alarms;
  readonly agentPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: TracehoundStackProps) {
    super(scope, id, props);
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const network = new Network(this, 'Network', { ...(props.vpc && { vpc: props.vpc }), natGateways: props.natGateways ?? 1 });
    const placement = { vpc: network.vpc, subnets: network.privateSubnets };
    this.storage = new Storage(this, 'Storage', {
      retentionDays: props.artifactRetentionDays ?? 30,
      versioned: props.bucketVersioned ?? false,
    });
    this.cache = new Cache(this, 'Cache', { ...placement, maxStorageGb: props.cacheMaxStorageGb ?? 5 });
    this.secrets = new Secrets(this, 'Secrets');

    // Both set: without REDIS_URL or S3_ENDPOINT a tracehound process starts embedded servers instead.
    const environment: Record<string, string> = {
      ...props.environment,
      REDIS_URL: this.cache.url,
      // ElastiCache Serverless speaks only Redis Cluster's protocol; the prefix's hash tag keeps every key in one slot.
      REDIS_CLUSTER: 'true',
      QUEUE_PREFIX: props.queuePrefix ?? '{tracehound}',
      S3_ENDPOINT: Fn.sub('https://s3.${AWS::Region}.${AWS::URLSuffix}'),
      S3_BUCKET: this.storage.bucket.bucketName,
      S3_REGION: Aws.REGION,
      // No keys: the roles' credentials through the default chain.
      S3_FORCE_PATH_STYLE: 'false',
    };
    this.apiFunction = new ApiFunction(this, 'Api', {
      ...placement,
      codeDir: props.lambdaCodeDir,
      memoryMiB: props.functionMemoryMiB ?? 1024,
      timeout: props.functionTimeout ?? Duration.seconds(29),
      reservedConcurrency: props.functionReservedConcurrency,
      logRetention,
      environment: { ...environment, TRACEHOUND_SECRET_ARN: this.secrets.secret.secretArn },
    });
    const publicBaseUrl = props.publicBaseUrl ?? this.apiFunction.url;
    this.apiFunction.fn.addEnvironment('PUBLIC_BASE_URL', publicBaseUrl);
    this.workers = new Workers(this, 'Workers', {
      ...placement,
      image: props.workerImage,
      cpu: props.workerCpu ?? 256,
      memoryMiB: props.workerMemoryMiB ?? 512,
      count: props.workerCount ?? 1,
      logRetention,
      environment: { ...environment, PUBLIC_BASE_URL: publicBaseUrl },
      secret: this.secrets.secret,
      secretKeys: [LINK_SECRET_KEY],
    });

    const fnRole = this.apiFunction.fn.role!;
    this.storage.grantReadWrite(fnRole);
    this.storage.grantReadWrite(this.workers.taskDefinition.taskRole);
    // The function reads the secret itself; the workers' keys are read by ECS with the execution role (Workers).
    fnRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [this.secrets.secret.secretArn] }),
    );

    this.cache.allowFrom(this.apiFunction.securityGroup, 'the API function');
    this.cache.allowFrom(this.workers.securityGroup, 'the workers');
    for (const [i, sgId] of (props.redisClientSecurityGroupIds ?? []).entries()) {
      this.cache.allowFrom(ec2.SecurityGroup.fromSecurityGroupId(this, `RedisClient${i}`, sgId), `client ${sgId}`);
    }

    // For the node agents' role in the cluster (IRSA, Pod Identity or the nodes' instance role).
    this.agentPolicy = new iam.ManagedPolicy(this, 'AgentPolicy', {
      description: 'tracehound node agent: store investigation artifacts',
      statements: [this.storage.artifactWriteStatement()],
    });

    this.alarms = new Alarms(this, 'Alarms', {
      fn: this.apiFunction.fn,
      api: this.apiFunction.api,
      topic: props.alarmTopicArn === undefined ? undefined : sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn),
    });

    const outputs: Record<string, [string, string]> = {
      ApiUrl: [publicBaseUrl, 'Where users, Slack and Alertmanager reach the API'],
      RedisUrl: [this.cache.url, 'REDIS_URL for node agents (TLS)'],
      CacheSecurityGroupId: [this.cache.securityGroup.securityGroupId, 'Allow node agents in with redisClientSecurityGroupIds'],
      BucketName: [this.storage.bucket.bucketName, 'S3_BUCKET for node agents'],
      AgentPolicyArn: [this.agentPolicy.managedPolicyArn, 'Attach to the node agents\' role'],
      SecretArn: [this.secrets.secret.secretArn, 'Add SLACK_SIGNING_SECRET, ACCESS_YAML, … to its JSON'],
      VpcId: [network.vpc.vpcId, 'The VPC the cache lives in'],
    };
    for (const [name, [value, description]] of Object.entries(outputs)) new CfnOutput(this, name, { value, description });
  }
}
