import { Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

export interface AlarmsProps {
  readonly fn: lambda.IFunction;
  readonly api: apigw.IHttpApi;
  /** Where alarms go; without one they only show in CloudWatch. */
  readonly topic: sns.ITopic | undefined;
}

/** Any function error, any throttle, any 5xx from the API within five minutes: each means a request went unanswered. */
export class Alarms extends Construct {
  readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const period = Duration.minutes(5);
    const watched: Array<[string, cloudwatch.IMetric, string]> = [
      ['FunctionErrors', props.fn.metricErrors({ period }), 'the API function threw or timed out'],
      ['FunctionThrottles', props.fn.metricThrottles({ period }), 'the API function was throttled (concurrency limit)'],
      ['Api5xx', props.api.metricServerError({ period }), 'the HTTP API answered 5xx'],
    ];
    this.alarms = watched.map(
      ([name, metric, description]) =>
        new cloudwatch.Alarm(this, name, {
          metric,
          alarmDescription: `tracehound: ${description}`,
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
    );
    if (props.topic) {
      for (const alarm of this.alarms) {
        alarm.addAlarmAction(new actions.SnsAction(props.topic));
        alarm.addOkAction(new actions.SnsAction(props.topic));
      }
    }
  }
}
