import { Duration } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { LAMBDA_HANDLER, lambdaCode } from './lambda-code.ts';

/** API Gateway gives up on an integration after 30 s: the function should end first and answer itself. */
const MAX_TIMEOUT = Duration.seconds(29);
/** Slack wants its acknowledgement within 3 s; the handler answers within that, this leaves a cold start room. */
const MIN_TIMEOUT = Duration.seconds(10);

export interface ApiFunctionProps {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  /** Folder holding dist/lambda.mjs and playbooks/ (the repository root). */
  readonly codeDir: string;
  readonly memoryMiB: number;
  readonly timeout: Duration;
  readonly reservedConcurrency: number | undefined;
  readonly logRetention: logs.RetentionDays;
  readonly environment: Record<string, string>;
}

/** The API as a Lambda function (the build's dist/lambda.mjs) behind an HTTP API, payload format 2.0. */
export class ApiFunction extends Construct {
  readonly fn: lambda.Function;
  readonly api: apigw.HttpApi;
  readonly securityGroup: ec2.SecurityGroup;
  readonly url: string;

  constructor(scope: Construct, id: string, props: ApiFunctionProps) {
    super(scope, id);
    const seconds = props.timeout.toSeconds();
    if (seconds < MIN_TIMEOUT.toSeconds() || seconds > MAX_TIMEOUT.toSeconds()) {
      throw new Error(`functionTimeout must be ${MIN_TIMEOUT.toSeconds()}–${MAX_TIMEOUT.toSeconds()} s, got ${seconds} s`);
    }
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', { vpc: props.vpc, description: 'tracehound API function' });
    this.fn = new lambda.Function(this, 'Function', {
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      handler: LAMBDA_HANDLER,
      code: lambdaCode(props.codeDir),
      memorySize: props.memoryMiB,
      timeout: props.timeout,
      ...(props.reservedConcurrency !== undefined && { reservedConcurrentExecutions: props.reservedConcurrency }),
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      securityGroups: [this.securityGroup],
      // An explicit group rather than `logRetention`, whose custom resource carries a logs:* policy on *.
      logGroup: new logs.LogGroup(this, 'Logs', { retention: props.logRetention }),
      environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
    });
    this.api = new apigw.HttpApi(this, 'HttpApi', {
      description: 'tracehound API',
      createDefaultStage: false,
      defaultIntegration: new HttpLambdaIntegration('Function', this.fn, {
        payloadFormatVersion: apigw.PayloadFormatVersion.VERSION_2_0,
      }),
    });
    new apigw.HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(new logs.LogGroup(this, 'AccessLogs', { retention: props.logRetention })),
      },
    });
    // The endpoint without the stage's trailing slash: links are built by appending /v1/….
    this.url = this.api.apiEndpoint;
  }
}
