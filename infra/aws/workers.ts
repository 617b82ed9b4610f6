import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { workerImage } from './worker-image.ts';

/** The part the container runs: the image's entry point takes it as its argument (node dist/cli.mjs <part>). */
export const WORKER_PART = 'orchestrator';

export interface WorkersProps {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly image: string;
  readonly cpu: number;
  readonly memoryMiB: number;
  readonly count: number;
  readonly logRetention: logs.RetentionDays;
  readonly environment: Record<string, string>;
  readonly secret: secretsmanager.ISecret;
  /** Keys of the secret's JSON injected as environment variables (each must exist in the secret or the task won't start). */
  readonly secretKeys: readonly string[];
}

/**
 * The long-running BullMQ consumers — playbook runner, notification worker, schedule runner, one process — as a small
 * Fargate service on ARM64. Node agents are not here: they run on the cluster's nodes (infra/k8s).
 */
export class Workers extends Construct {
  readonly service: ecs.FargateService;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: WorkersProps) {
    super(scope, id);
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', { vpc: props.vpc, description: 'tracehound workers' });
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: props.cpu,
      memoryLimitMiB: props.memoryMiB,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.ARM64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    this.taskDefinition.addContainer('orchestrator', {
      image: workerImage(this, props.image),
      command: [WORKER_PART],
      environment: props.environment,
      secrets: Object.fromEntries(props.secretKeys.map((k) => [k, ecs.Secret.fromSecretsManager(props.secret, k)])),
      logging: ecs.LogDrivers.awsLogs({
        streamPrefix: WORKER_PART,
        logGroup: new logs.LogGroup(this, 'Logs', { retention: props.logRetention }),
      }),
      // Time to close the BullMQ workers, so running jobs are handed back rather than left to the stalled-job check.
      stopTimeout: Duration.seconds(30),
    });
    this.service = new ecs.FargateService(this, 'Service', {
      cluster: new ecs.Cluster(this, 'Cluster', { vpc: props.vpc }),
      taskDefinition: this.taskDefinition,
      desiredCount: props.count,
      securityGroups: [this.securityGroup],
      vpcSubnets: props.subnets,
      assignPublicIp: false,
      minHealthyPercent: 100,
      circuitBreaker: { rollback: true },
    });
  }
}
