import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BPF_STATS_RECORD_DIR, BPF_STATS_SYSCTL, BpfStatsRecord } from '../../workers/node-agent/bpf-stats.ts';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

const NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
const SWITCH = fileURLToPath(new URL('../../workers/node-agent/bpf-stats.ts', import.meta.url));

const sysctl = () => readFileSync(BPF_STATS_SYSCTL, 'utf8').trim();
const records = () =>
  existsSync(BPF_STATS_RECORD_DIR)
    ? readdirSync(BPF_STATS_RECORD_DIR)
        .filter((n) => n.endsWith('.json'))
        .map((n) => BpfStatsRecord.parse(JSON.parse(readFileSync(join(BPF_STATS_RECORD_DIR, n), 'utf8'))))
    : [];

/**
 * The real setting and the agent's real record directory: an agent process (the switch as the agent has it, on
 * /proc/sys/kernel/bpf_stats_enabled) turns statistics on for a capture and is SIGKILLed; the next agent to start
 * puts the value back. Changes the node's kernel state: run alone (flock /tmp/th-host.lock); the setting goes back
 * to what it was whatever happens.
 */
describe.skipIf(skipBpf)(bpfSuiteName('kernel.bpf_stats_enabled left on by a SIGKILLed agent'), () => {
  let original: string;
  let dir: string;
  let holder: ChildProcess | undefined;
  let sys: TestSystem | undefined;

  beforeAll(() => {
    assertBpf();
    original = sysctl();
    dir = mkdtempSync(join(tmpdir(), 'th-bpfstats-sysctl-'));
    const live = records().filter((r) => existsSync(`/proc/${r.pid}`));
    if (live.length > 0) throw new Error(`agents ${live.map((r) => r.pid).join(', ')} hold BPF statistics on now; refusing to test`);
  });

  afterAll(async () => {
    holder?.kill('SIGKILL');
    await sys?.stop();
    if (original !== undefined) writeFileSync(BPF_STATS_SYSCTL, original);
    // Only the record of this test's holder (the agent started here removed it unless the test failed first).
    for (const name of existsSync(BPF_STATS_RECORD_DIR) ? readdirSync(BPF_STATS_RECORD_DIR) : []) {
      if (holder?.pid !== undefined && name.startsWith(`${holder.pid}-`)) rmSync(join(BPF_STATS_RECORD_DIR, name), { force: true });
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('stays on after the SIGKILL, with its record, and a starting agent puts the value before back', async () => {
    writeFileSync(BPF_STATS_SYSCTL, '0');
    const script = join(dir, 'holder.mts');
    writeFileSync(
      script,
      `import { defaultBpfStats } from ${JSON.stringify(SWITCH)};\n` +
        `const lease = defaultBpfStats.acquire();\n` +
        `if (!lease.enabled) { console.error(lease.reason); process.exit(3); }\n` +
        `process.stdout.write('on\\n');\nsetInterval(() => {}, 60_000);\n`,
    );
    const child = spawn(NODE, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    holder = child;
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`holder exited ${code}: ${err}`)));
    });
    expect(sysctl()).toBe('1');
    expect(records().filter((r) => r.pid === child.pid)).toMatchObject([{ sysctl: BPF_STATS_SYSCTL, prior: '0' }]);

    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
    // Nothing ran its exit handler: the node pays for the statistics until someone puts them back.
    expect(sysctl()).toBe('1');
    expect(records().map((r) => r.pid)).toContain(child.pid);

    sys = await startSystem({ parts: ['agent'] });
    expect(sysctl()).toBe('0');
    expect(records().map((r) => r.pid)).not.toContain(child.pid);
  });
});
