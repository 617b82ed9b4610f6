import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Investigation } from '../../src/core/investigation.ts';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { describeSteps } from '../helpers/steps.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

const window = (inv: Investigation) => {
  const s = inv.steps[0]!;
  return [Date.parse(s.startedAt!), Date.parse(s.finishedAt!)] as const;
};

describe.skipIf(skipBpf)(bpfSuiteName('a node runs at most AGENT_CONCURRENCY captures at once'), () => {
  let sys: TestSystem;
  beforeAll(async () => {
    assertBpf();
    sys = await startSystem({ env: { AGENT_CONCURRENCY: '1' } });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it('queues the second capture until the first is done', async () => {
    const ids = await Promise.all(
      [0, 1].map(async () => (await sys.post('/v1/investigations', { playbook: 'tcp-retrans', target: { node: 'test-node' }, params: { duration: '2s' } })).json.id as string),
    );
    const [a, b] = await Promise.all(ids.map((id) => sys.waitFor(id)));
    expect([a!.status, b!.status], describeSteps([...a!.steps, ...b!.steps])).toEqual(['succeeded', 'succeeded']);
    const [first, second] = [window(a!), window(b!)].sort((x, y) => x[0] - y[0]);
    // Each capture's window lies entirely before the other's: they never overlapped.
    expect(second![0]).toBeGreaterThanOrEqual(first![1]);
  });
});
