import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';

export interface NetworkProps {
  /** An existing VPC (e.g. the cluster's, so its node agents reach the cache without peering); else a new one. */
  readonly vpc?: ec2.IVpc;
  /**
   * NAT gateways of a new VPC. The orchestrator posts notifications to Slack/Mattermost and pulls its image from
   * any registry, which needs a way out; with 0 the private subnets are isolated and reach AWS through interface
   * endpoints only (chat notifications then cannot leave the VPC).
   */
  readonly natGateways: number;
}

/** The VPC the function, the workers and the cache share, and the subnets they run in. */
export class Network extends Construct {
  readonly vpc: ec2.IVpc;
  readonly privateSubnets: ec2.SubnetSelection;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    if (props.vpc) {
      this.vpc = props.vpc;
      this.privateSubnets = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
      return;
    }
    const isolated = props.natGateways === 0;
    const privateType = isolated ? ec2.SubnetType.PRIVATE_ISOLATED : ec2.SubnetType.PRIVATE_WITH_EGRESS;
    const vpc = new ec2.Vpc(this, 'Vpc', {
      // ElastiCache Serverless needs subnets in at least two zones; an environment-agnostic stack gets two.
      maxAzs: 2,
      natGateways: props.natGateways,
      subnetConfiguration: [
        ...(isolated ? [] : [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }]),
        { name: 'private', subnetType: privateType, cidrMask: 22 },
      ],
      // Not left to a feature flag: the default security group allows everything between its members.
      restrictDefaultSecurityGroup: true,
      // Free, and artifact bytes then never pay for NAT processing.
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });
    if (isolated) {
      for (const [name, service] of Object.entries(ISOLATED_ENDPOINTS)) {
        vpc.addInterfaceEndpoint(name, { service, subnets: { subnetType: privateType } });
      }
    }
    this.vpc = vpc;
    this.privateSubnets = { subnetType: privateType };
  }
}

/** What the function and the workers reach without a NAT: secrets, logs and ECR's image pulls (layers come from S3). */
export const ISOLATED_ENDPOINTS: Readonly<Record<string, ec2.InterfaceVpcEndpointAwsService>> = {
  SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
  Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
  EcrApi: ec2.InterfaceVpcEndpointAwsService.ECR,
  EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
};
