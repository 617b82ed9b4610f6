import { mkdtempSync, rmSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { execsnoop } from '../../bpf/bpftrace/execsnoop/manifest.ts';
import type { BpftraceTool, CaptureTool, NativeTool } from '../../bpf/tool.ts';
import type { Capabilities } from '../../src/core/capabilities.ts';
import { newInvestigationId } from '../../src/core/ids.ts';
import { CaptureJob, CaptureOutcome } from '../../src/queue/jobs.ts';
import { investigationPrefix } from '../../src/storage/keys.ts';
import { detectCapabilities } from '../../workers/node-agent/capabilities.ts';
import { executeCapture } from '../../workers/node-agent/capture.ts';
import { ArtifactSpool } from '../../workers/node-agent/spool.ts';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { CGROUP_ROOT } from '../helpers/kernel.ts';
import { testS3 } from '../helpers/services.ts';

/**
 * The agent checks every parse against the tool's result schema before it stores anything (issue #12 item 1): a
 * result of the wrong shape fails the step, naming the tool and the first bad path, and no result.json is stored.
 * Test tools reach executeCapture through CaptureDeps.tools; everything else (storage, spool, time box) is real.
 */

const Rows = z.object({ rows: z.array(z.object({ comm: z.string(), count: z.number().int() })) });
type Rows = z.infer<typeof Rows>;
const NoParams = z.object({}).strict();

/** A native tool whose run returns `result` whatever its schema says. */
function nativeReturning(result: unknown): NativeTool<typeof NoParams, Rows> {
  return {
    kind: 'native',
    name: 'rows-reader',
    description: 'returns a fixed result (test tool)',
    params: NoParams,
    variants: [{ name: 'procfs', requires: [], description: 'a fixed result' }],
    requires: [],
    limits: { minDurationMs: 0, maxDurationMs: 10_000, defaultDurationMs: 0, maxOutputBytes: 1024, stopGraceMs: 1_000 },
    result: Rows,
    run: async () => ({ raw: '{"read":true}', rawFile: 'raw.json', result: result as Rows, extraArtifacts: [] }),
  };
}

/** A node that can run nothing but native tools that need nothing. */
const NATIVE_ONLY: Capabilities = {
  kernel: release(),
  arch: process.arch,
  btf: false,
  tracefs: null,
  tracers: [],
  perfEvents: false,
  kprobes: false, fentry: false, uprobes: false,
  bpftrace: { available: false, version: null, reason: 'not needed: native test tools' },
  cgroupV2: null,
};

describe('the agent checks each result against its schema before storing it', () => {
  const s3 = testS3();
  let spoolDir: string;
  let spool: ArtifactSpool;

  beforeAll(async () => {
    spoolDir = mkdtempSync(join(tmpdir(), 'th-result-schema-spool-'));
    spool = await ArtifactSpool.open({ dir: spoolDir, maxBytes: 1024 * 1024, log: pino({ level: 'silent' }) });
  });
  afterAll(() => {
    rmSync(spoolDir, { recursive: true, force: true });
    s3.client.destroy();
  });

  async function capture(tool: CaptureTool, durationMs: number, capabilities = NATIVE_ONLY) {
    const job = CaptureJob.parse({ investigationId: newInvestigationId(), stepId: 'rows', node: 'test-node', tool: tool.name, params: {}, durationMs, scope: {} });
    const deps = {
      store: s3.store, spool, capabilities, cgroupRoot: '/sys/fs/cgroup', bpftrace: 'bpftrace', mapKeysMax: 65_536,
      killGraceMs: 5_000, startupMs: 30_000, maxDurationMs: 120_000, log: pino({ level: 'silent' }),
      tools: (name: string) => (name === tool.name ? tool : undefined),
    };
    const outcome = CaptureOutcome.parse(await executeCapture(job, deps, new AbortController().signal));
    const prefix = investigationPrefix(job.investigationId);
    const stored = await s3.store.list(prefix);
    return { outcome, stored: stored.map((o) => o.key.slice(prefix.length)) };
  }

  it('stores a result of the right shape (the check lets good results through)', async () => {
    const { outcome, stored } = await capture(nativeReturning({ rows: [{ comm: 'dd', count: 7 }] }), 0);
    expect(outcome.status, outcome.reason).toBe('succeeded');
    expect(outcome.result).toEqual({ rows: [{ comm: 'dd', count: 7 }] });
    // cost.json: what the capture cost the node (workers/node-agent/capture-cost.ts), stored beside its result.
    expect(stored.sort()).toEqual(['rows/test-node/cost.json', 'rows/test-node/raw.json', 'rows/test-node/result.json']);
  });

  it('fails a native tool whose result has the wrong shape, naming the tool and the first bad path; stores nothing', async () => {
    const { outcome, stored } = await capture(nativeReturning({ rows: [{ comm: 'dd', count: 7 }, { comm: 'sh', count: 'seven' }] }), 0);
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toBe('rows-reader returned a result that does not match its schema at rows.1.count: Invalid input: expected number, received string');
    expect(outcome.result).toBeUndefined();
    expect(outcome.artifacts).toEqual([]);
    expect(stored).toEqual([]);
  });

  it('says so when the result itself is not an object', async () => {
    const { outcome } = await capture(nativeReturning(null), 0);
    expect(outcome.status).toBe('failed');
    expect(outcome.reason).toMatch(/^rows-reader returned a result that does not match its schema at \(the result itself\): /);
  });

  describe.skipIf(skipBpf)(bpfSuiteName('a bpftrace tool'), () => {
    let capabilities: Capabilities;
    beforeAll(async () => {
      assertBpf();
      capabilities = await detectCapabilities({ tracefs: '/sys/kernel/tracing', bpftrace: 'bpftrace', cgroupRoot: CGROUP_ROOT });
    });

    it("fails a bpftrace tool whose parse breaks its schema; stores nothing (execsnoop's program, for a second)", async () => {
      // execsnoop's real program and arguments; only the parse is wrong: it says every count is a string.
      const wrong: BpftraceTool<typeof NoParams, Rows> = {
        ...(execsnoop as unknown as BpftraceTool<typeof NoParams, Rows>),
        name: 'execsnoop-misparsed',
        params: NoParams,
        args: (_params, scope) => execsnoop.args({ top: 20 }, scope),
        parse: () => ({ result: { rows: [{ comm: 'sh', count: '3' }] } as unknown as Rows, extraArtifacts: [] }),
        result: Rows,
      };
      const { outcome, stored } = await capture(wrong, 1_000, capabilities);
      expect(outcome.status).toBe('failed');
      expect(outcome.reason).toBe('execsnoop-misparsed returned a result that does not match its schema at rows.0.count: Invalid input: expected number, received string');
      expect(outcome.result).toBeUndefined();
      expect(stored).toEqual([]);
    }, 60_000);
  });
});
