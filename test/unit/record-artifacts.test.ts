import { describe, expect, it } from 'vitest';
import type { Investigation, Step } from '../../src/core/investigation.ts';
import { artifactKind, mergeLateArtifacts, unstoredWords, withUnstored } from '../../src/core/record-artifacts.ts';

const NOW = Date.parse('2025-01-01T14:04:00Z');
const since = (msAgo: number) => new Date(NOW - msAgo).toISOString();
const ref = (name: string) => ({ name, key: `investigations/inv_x/${name}`, contentType: 'application/json', size: 3 });

describe('outputs not stored, in words', () => {
  it.each([
    ['errors/node-17/raw.json', 'raw output'],
    ['mount-path/node-17/trace.txt', 'raw output'],
    ['cpu/node-17/result.json', 'parsed result'],
    ['cpu/node-17/stacks.folded', 'folded stacks'],
    ['cpu/node-17/flamegraph.svg', 'flamegraph'],
    ['cpu/node-17/flamegraph.png', 'flamegraph thumbnail'],
    ['offcpu/node-17/offcpu.folded', 'off-CPU folded stacks'],
    ['offcpu/node-17/offcpu-flamegraph.svg', 'off-CPU flamegraph'],
    ['offcpu/node-17/offcpu-flamegraph.png', 'off-CPU flamegraph thumbnail'],
    ['cpu/node-17/profile.speedscope.json', 'speedscope profile'],
    ['cpu/node-17/profile.pb.gz', 'pprof profile'],
    ['cpu/node-17/other.bin', 'other.bin'],
  ])('names %s as its kind', (name, kind) => expect(artifactKind(name)).toBe(kind));

  it('says which output is missing, why, and for how long — never an errno', () => {
    expect(unstoredWords([{ name: 'errors/node-17/raw.json', since: since(120_000), reason: 'object storage unreachable' }], NOW)).toBe(
      'raw output not stored: object storage unreachable for 2m',
    );
  });

  it('groups outputs missing for the same reason, counting from the first failure', () => {
    const words = unstoredWords(
      [
        { name: 'cpu/n/raw.json', since: since(125_000), reason: 'object storage unreachable' },
        { name: 'cpu/n/result.json', since: since(124_000), reason: 'object storage unreachable' },
        { name: 'cpu/n/flamegraph.svg', since: since(3000), reason: 'object storage refused the upload (HTTP 403)' },
        { name: 'cpu/n/stacks.folded', since: since(100_000), reason: 'object storage unreachable' },
      ],
      NOW,
    );
    expect(words).toBe(
      'raw output, parsed result and folded stacks not stored: object storage unreachable for 2m 5s; flamegraph not stored: object storage refused the upload (HTTP 403) for 3s',
    );
    expect(unstoredWords([], NOW)).toBeNull();
  });

  it('keeps the other clauses of a step\'s reason and replaces its earlier words', () => {
    const step: Step = { id: 'cpu', tool: 'profile', node: 'n', status: 'succeeded', reason: 'fallback to mountsnoop: no function_graph', artifacts: [] };
    const once = withUnstored(step, [{ name: 'cpu/n/raw.json', since: since(60_000), reason: 'object storage unreachable' }], NOW);
    expect(once).toMatchObject({ status: 'succeeded', reason: 'fallback to mountsnoop: no function_graph; raw output not stored: object storage unreachable for 1m' });
    const later = withUnstored(once, once.unstored!, NOW + 60_000);
    expect(later.reason).toBe('fallback to mountsnoop: no function_graph; raw output not stored: object storage unreachable for 2m');
    const none = withUnstored(later, [], NOW);
    expect(none.reason).toBe('fallback to mountsnoop: no function_graph');
    expect(none).not.toHaveProperty('unstored');
    expect(withUnstored({ ...step, reason: undefined }, [], NOW)).not.toHaveProperty('reason');
  });
});

describe('late artifacts', () => {
  const inv: Investigation = {
    id: 'inv_x', status: 'succeeded', playbook: 'cpu-profile', params: {}, createdAt: since(600_000), requestedBy: 'token:t',
    steps: [
      {
        id: 'cpu', tool: 'profile', node: 'a', status: 'succeeded', artifacts: ['cpu/a/stacks.folded'],
        reason: 'raw output and parsed result not stored: object storage unreachable for 1m',
        unstored: [
          { name: 'cpu/a/raw.json', since: since(60_000), reason: 'object storage unreachable' },
          { name: 'cpu/a/result.json', since: since(60_000), reason: 'object storage unreachable' },
        ],
      },
      { id: 'cpu', tool: 'profile', node: 'b', status: 'succeeded', artifacts: ['cpu/b/raw.json'] },
    ],
    artifacts: [{ ...ref('cpu/a/stacks.folded'), url: '/v1/investigations/inv_x/artifacts/cpu/a/stacks.folded' }],
  };

  it('lists them on the record with their URL and on their step, which stops saying they are missing', () => {
    const once = mergeLateArtifacts(inv, { stepId: 'cpu', node: 'a', artifacts: [ref('cpu/a/raw.json')] }, NOW);
    expect(once.artifacts.map((a) => [a.name, a.url])).toEqual([
      ['cpu/a/stacks.folded', '/v1/investigations/inv_x/artifacts/cpu/a/stacks.folded'],
      ['cpu/a/raw.json', '/v1/investigations/inv_x/artifacts/cpu/a/raw.json'],
    ]);
    expect(once.steps[0]).toMatchObject({
      artifacts: ['cpu/a/stacks.folded', 'cpu/a/raw.json'],
      reason: 'parsed result not stored: object storage unreachable for 1m',
      unstored: [{ name: 'cpu/a/result.json' }],
    });
    expect(once.steps[1]).toBe(inv.steps[1]);

    const twice = mergeLateArtifacts(once, { stepId: 'cpu', node: 'a', artifacts: [ref('cpu/a/result.json'), ref('cpu/a/raw.json')] }, NOW);
    expect(twice.steps[0]!.reason).toBeUndefined();
    expect(twice.steps[0]!.unstored).toBeUndefined();
    expect(twice.steps[0]!.artifacts).toEqual(['cpu/a/stacks.folded', 'cpu/a/result.json', 'cpu/a/raw.json']);
    // Delivered twice (a retried upload): listed once.
    expect(twice.artifacts.map((a) => a.name).sort()).toEqual(['cpu/a/raw.json', 'cpu/a/result.json', 'cpu/a/stacks.folded']);
  });
});
