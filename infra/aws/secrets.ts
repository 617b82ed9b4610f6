import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** The one key generated at creation; the others (see README) are added to the same JSON by the operator. */
export const LINK_SECRET_KEY = 'LINK_SECRET';

/**
 * The service's secrets as one JSON object of configuration names to values (the Lambda reads it through
 * TRACEHOUND_SECRET_ARN, the workers get keys injected by ECS). Only the function and the workers may read it.
 */
export class Secrets extends Construct {
  readonly secret: secretsmanager.Secret;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.secret = new secretsmanager.Secret(this, 'Secret', {
      description: 'tracehound configuration secrets: LINK_SECRET, SLACK_SIGNING_SECRET, ACCESS_YAML, …',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({}),
        generateStringKey: LINK_SECRET_KEY,
        // src/config.ts wants ≥ 32 characters; punctuation is left out so the value survives shells and URLs.
        passwordLength: 48,
        excludePunctuation: true,
      },
    });
  }
}
