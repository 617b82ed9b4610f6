import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { recordingContext, toolFixture } from '../../test/helpers/recordings.ts';
import { tools } from '../index.ts';
import type { BpftraceTool } from '../tool.ts';

/**
 * The agent refuses to store a result its tool's schema rejects (workers/node-agent/capture.ts). Every real output
 * recorded in the tools' fixtures/ must therefore parse into a result the schema accepts, as it is, with defaults.
 */
const bpftrace = Object.values(tools).filter((t): t is BpftraceTool => t.kind === 'bpftrace');
const recordings = bpftrace.flatMap((tool) =>
  readdirSync(new URL(`./${tool.name}/fixtures/`, import.meta.url))
    // *.fds.json are the descriptor tables recorded beside a capture, not bpftrace output.
    .filter((f) => f.endsWith('.json') && !f.endsWith('.fds.json'))
    .map((fixture) => ({ tool, fixture })),
);

describe('recorded bpftrace output parses into results the schemas accept', () => {
  it('finds recordings for every bpftrace tool', () => {
    expect(new Set(recordings.map((r) => r.tool.name))).toEqual(new Set(bpftrace.map((t) => t.name)));
  });

  it.each(recordings.map((r) => [r.tool.name, r.fixture, r.tool] as const))('%s %s', (_name, fixture, tool) => {
    const { result } = tool.parse(toolFixture(tool.name, fixture), tool.params.parse({}), recordingContext({}));
    const checked = tool.result.safeParse(result);
    expect(checked.error?.issues ?? []).toEqual([]);
    expect(checked.data).toEqual(result);
  });
});
