import { Arn, Aws } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type { Construct } from 'constructs';

/** <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag][@sha256:…] */
const ECR_URI = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([a-z0-9._/-]+?)(?::([\w.-]+))?(?:@(sha256:[0-9a-f]{64}))?$/;

/**
 * The workers' image from its URI. An ECR image becomes an ECR repository reference so the task's execution role
 * gets pull rights on that one repository; any other registry is pulled as is (public, or through the NAT).
 */
export function workerImage(scope: Construct, uri: string): ecs.ContainerImage {
  const m = ECR_URI.exec(uri);
  if (!m) return ecs.ContainerImage.fromRegistry(uri);
  const [, account, region, name, tag, digest] = m as unknown as [string, string, string, string, string | undefined, string | undefined];
  const repository = ecr.Repository.fromRepositoryAttributes(scope, 'WorkerRepository', {
    repositoryName: name,
    repositoryArn: Arn.format({ partition: Aws.PARTITION, service: 'ecr', account, region, resource: 'repository', resourceName: name }),
  });
  return ecs.ContainerImage.fromEcrRepository(repository, digest ?? tag ?? 'latest');
}
