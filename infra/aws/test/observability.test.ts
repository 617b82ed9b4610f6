import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { flat, resourceOf, synthStack } from './stack-fixture.ts';

describe('logs and alarms', () => {
  it.each([RetentionDays.ONE_WEEK, RetentionDays.THREE_MONTHS])('keep every log group %i days', (days) => {
    const { stack, template } = synthStack({ logRetention: days });
    const groups = Object.entries(template.findResources('AWS::Logs::LogGroup'));
    // The function's, the HTTP API's access log and the workers'.
    expect(groups).toHaveLength(3);
    for (const [, g] of groups) expect((g as { Properties: { RetentionInDays: number } }).Properties.RetentionInDays).toBe(days);
    const ids = groups.map(([id]) => id);
    const [, fn] = resourceOf(stack, template, stack.apiFunction.fn);
    expect(ids).toContain(flat((fn.LoggingConfig as { LogGroup: unknown }).LogGroup).replace(/^\{Ref:(.*)\}$/, '$1'));
    const [, task] = resourceOf(stack, template, stack.workers.taskDefinition);
    const logOptions = (task.ContainerDefinitions as Array<{ LogConfiguration: { Options: Record<string, unknown> } }>)[0]!.LogConfiguration.Options;
    expect(ids).toContain(flat(logOptions['awslogs-group']).replace(/^\{Ref:(.*)\}$/, '$1'));
    // No LogRetention custom resource: it would bring a logs policy on `*`.
    expect(template.findResources('Custom::LogRetention')).toEqual({});
  });

  const alarmsOf = (template: ReturnType<typeof synthStack>['template']) =>
    Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => (a as { Properties: Record<string, unknown> }).Properties);

  it('raise an alarm on any function error, throttle or API 5xx', () => {
    const { stack, template } = synthStack();
    const [fnId] = resourceOf(stack, template, stack.apiFunction.fn);
    const [apiId] = resourceOf(stack, template, stack.apiFunction.api);
    const watched = alarmsOf(template).map((a) => [
      a.Namespace,
      a.MetricName,
      (a.Dimensions as Array<{ Value: unknown }>).map((d) => flat(d.Value)).join(),
      a.Threshold,
      a.ComparisonOperator,
    ]);
    expect(watched.sort()).toEqual(
      [
        ['AWS/Lambda', 'Errors', `{Ref:${fnId}}`],
        ['AWS/Lambda', 'Throttles', `{Ref:${fnId}}`],
        ['AWS/ApiGateway', '5xx', `{Ref:${apiId}}`],
      ]
        .map((m) => [...m, 1, 'GreaterThanOrEqualToThreshold'])
        .sort(),
    );
  });

  it('send alarms and recoveries to the topic given, and nowhere without one', () => {
    const arn = 'arn:aws:sns:eu-west-1:123456789012:oncall';
    for (const a of alarmsOf(synthStack({ alarmTopicArn: arn }).template)) {
      expect([a.AlarmActions, a.OKActions]).toEqual([[arn], [arn]]);
    }
    for (const a of alarmsOf(synthStack().template)) expect([a.AlarmActions, a.OKActions]).toEqual([undefined, undefined]);
  });
});
