import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { recordingContext, toolFixture } from '../../../test/helpers/recordings.ts';
import { tools } from '../../index.ts';
import type { BpftraceTool } from '../../tool.ts';
import { triage } from './manifest.ts';
import { splitOutput } from './parser.ts';
import { TRIAGE_PARTS, TriageResult } from './result.ts';

/** The joint program's real output (fixtures/README.md), split and read by each tool's own parser. */
const stdout = toolFixture('triage', 'node-wide.json');
const program = readFileSync(new URL('./program.bt', import.meta.url), 'utf8');

describe('triage: the joint program', () => {
  it('splits its output into each part as that tool would have printed it, line numbers kept', () => {
    const parts = splitOutput(stdout);
    const lines = stdout.split('\n');
    for (const { tool, prefix } of TRIAGE_PARTS) {
      const own = parts[tool].split('\n');
      expect(own).toHaveLength(lines.length);
      own.forEach((line, i) => {
        if (line === '') return;
        // Its own maps, renamed back; lines that are nobody's map (attached probes) as they are.
        if (lines[i]!.includes(`{"@${prefix}_`)) expect(line).toBe(lines[i]!.replace(`"@${prefix}_`, '"@'));
        else expect(line).toBe(lines[i]);
      });
      expect(parts[tool]).toMatch(/"@complete": 1/);
      expect(parts[tool]).not.toMatch(/"@(sc|rq|bio|rt|tc|oom|ex|pf)_/);
    }
  });

  it("parses into every tool's own result, equal to that tool's parser on its part", () => {
    const ctx = recordingContext({});
    const { result, stacks } = triage.parse(stdout, triage.params.parse({}), ctx);
    expect(TriageResult.parse(result)).toEqual(result);
    const parts = splitOutput(stdout);
    for (const { tool } of TRIAGE_PARTS) {
      const t = tools[tool] as BpftraceTool;
      expect(result[tool], tool).toEqual(t.parse(parts[tool], t.params.parse({}), ctx).result);
    }
    // A node-wide recording of a busy shared machine: every part saw something.
    expect(result.runqlat.all.count).toBeGreaterThan(0);
    expect(result.profile.samples).toBeGreaterThan(0);
    expect(result.execsnoop.execs).toBeGreaterThan(0);
    expect(stacks).toBeDefined();
  });

  it("holds every part's probes, with its maps prefixed and one BEGIN and one END", () => {
    for (const probe of ['raw_syscalls:sys_exit', 'sched:sched_switch', 'block:block_rq_complete', 'tcp:tcp_retransmit_skb', 'sock:inet_sock_set_state', 'oom:mark_victim', 'syscalls:sys_enter_execve', 'profile:hz:$1']) {
      expect(program).toContain(probe);
    }
    expect(program.match(/^BEGIN$/gm)).toHaveLength(1);
    expect(program.match(/^END$/gm)).toHaveLength(1);
    expect(program.match(/@(?!(sc|rq|bio|rt|tc|oom|ex|pf)_)\w+/g)).toBeNull();
  });

  it('passes the layout program.bt reads: Hz, the scope, syscount\'s syscall numbers, errno and end-after', () => {
    const args = triage.args(triage.params.parse({ hz: 49 }), { cgroupIds: [11, 12], pid: 777 });
    expect(args.slice(0, 10)).toEqual(['49', '11', '777', '12', '0', '0', '0', '0', '0', '0']);
    expect(args).toHaveLength(28);
    expect(args.slice(26)).toEqual(['0', '0']);
    expect(triage.env).toEqual({ BPFTRACE_STRLEN: '200', BPFTRACE_NO_USER_SYMBOLS: '1' });
  });
});
