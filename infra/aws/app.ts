import { resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { TracehoundStack } from './tracehound-stack.ts';

/** The repository root, where `npm run build` leaves dist/ beside playbooks/. */
const REPO_ROOT = resolve(import.meta.dirname, '../..');

const app = new App();
const context = (key: string): string | undefined => {
  const v: unknown = app.node.tryGetContext(key);
  return v === undefined || v === '' ? undefined : String(v);
};
const wholeNumber = (key: string): number | undefined => {
  const v = context(key);
  if (v !== undefined && !/^\d+$/.test(v)) throw new Error(`-c ${key}=${v}: expected a whole number`);
  return v === undefined ? undefined : Number(v);
};

const workerImage = context('workerImage');
if (!workerImage) throw new Error("pass the workers' image: cdk deploy -c workerImage=<registry>/tracehound:<tag>");

// Environment-agnostic (no account or region): synth needs no credentials and makes no lookups; deploy takes both
// from the profile.
new TracehoundStack(app, context('stackName') ?? 'Tracehound', {
  lambdaCodeDir: context('lambdaCodeDir') ?? REPO_ROOT,
  workerImage,
  artifactRetentionDays: wholeNumber('artifactRetentionDays'),
  workerCount: wholeNumber('workerCount'),
  natGateways: wholeNumber('natGateways'),
  functionReservedConcurrency: wholeNumber('functionReservedConcurrency'),
  redisClientSecurityGroupIds: context('redisClientSecurityGroupIds')?.split(',').filter(Boolean),
  alarmTopicArn: context('alarmTopicArn'),
  publicBaseUrl: context('publicBaseUrl'),
});
app.synth();
