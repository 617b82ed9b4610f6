import { describe, expect, it } from 'vitest';
import {
  ackMessage,
  type Block,
  errorMessage,
  finalMessage,
  helpMessage,
  LIMITS,
  progressMessage,
  type SlackMessage,
  statusMessage,
  sweepsMessage,
} from '../../src/chatops/blocks.ts';
import { cpuProfileSucceeded, enospcFailed, enospcSucceeded, overflowing, running } from '../fixtures/chatops/investigations.ts';

const links = {
  report: 'https://tracehound.example/v1/investigations/inv_01j9z3k4m5n6p7q8r9s0t1v2w3/report.html?sig=a&exp=1',
  flamegraph: 'https://tracehound.example/flamegraph.svg',
  flamegraphPng: 'https://tracehound.example/flamegraph.png',
  self: 'https://tracehound.example/v1/investigations/inv_01j9z3k4m5n6p7q8r9s0t1v2w3',
};

/** Every limit from the Block Kit reference that these messages could run into. */
function expectWithinSlackLimits(msg: SlackMessage): void {
  expect(msg.text.length).toBeGreaterThan(0);
  expect(msg.text.length).toBeLessThanOrEqual(LIMITS.fallbackText);
  expect(msg.blocks.length).toBeGreaterThan(0);
  expect(msg.blocks.length).toBeLessThanOrEqual(50);
  for (const b of msg.blocks) {
    switch (b.type) {
      case 'header':
        expect(b.text.type).toBe('plain_text');
        expect(b.text.text.length).toBeLessThanOrEqual(150);
        break;
      case 'section':
        expect(b.text.text.length).toBeGreaterThan(0);
        expect(b.text.text.length).toBeLessThanOrEqual(3000);
        break;
      case 'context':
        expect(b.elements.length).toBeLessThanOrEqual(10);
        for (const e of b.elements) expect(e.text.length).toBeLessThanOrEqual(3000);
        break;
      case 'image':
        expect(b.image_url.length).toBeLessThanOrEqual(3000);
        expect(b.alt_text.length).toBeLessThanOrEqual(2000);
        break;
      case 'actions':
        expect(b.elements.length).toBeLessThanOrEqual(25);
        for (const e of b.elements) {
          expect(e.text.text.length).toBeLessThanOrEqual(75);
          expect(e.url.length).toBeLessThanOrEqual(3000);
        }
        break;
      case 'divider':
        break;
    }
  }
}

const types = (msg: SlackMessage) => msg.blocks.map((b) => b.type);
const texts = (msg: SlackMessage) =>
  msg.blocks.flatMap((b: Block) => {
    if (b.type === 'section' || b.type === 'header') return [b.text.text];
    if (b.type === 'context') return b.elements.map((e) => e.text);
    return [];
  });
const sections = (msg: SlackMessage) => msg.blocks.flatMap((b) => (b.type === 'section' ? [b.text.text] : []));

describe('ackMessage', () => {
  it('is an ephemeral "Queued" line with the target', () => {
    const msg = ackMessage({ id: 'inv_01j9z3k4m5n6p7q8r9s0t1v2w3', playbook: 'enospc', target: { pod: 'shop/cart-7d9f' } }, 'Picked enospc from "mount fails with ENOSPC".');
    expect(msg.response_type).toBe('ephemeral');
    expect(msg.text).toBe('Queued inv_01j9z3k4m5n6p7q8r9s0t1v2w3: enospc on pod=shop/cart-7d9f. Picked enospc from "mount fails with ENOSPC".');
    expect(types(msg)).toEqual(['section', 'context']);
    expect(sections(msg)[0]).toBe(':hourglass_flowing_sand: Queued `inv_01j9z3k4m5n6p7q8r9s0t1v2w3`: *enospc* on pod=shop/cart-7d9f');
    expectWithinSlackLimits(msg);
  });

  it('says "all nodes" without a target and has no context without extra', () => {
    const msg = ackMessage({ id: 'inv_01j9z3k4m5n6p7q8r9s0t1v2w3', playbook: 'health-sweep' });
    expect(msg.text).toBe('Queued inv_01j9z3k4m5n6p7q8r9s0t1v2w3: health-sweep on all nodes');
    expect(types(msg)).toEqual(['section']);
  });
});

describe('progressMessage', () => {
  it('shows the status, the steps done and the steps running', () => {
    const msg = progressMessage(running);
    expect(msg.response_type).toBe('ephemeral');
    expect(msg.text).toBe('inv_01j9z3k4m5n6p7q8r9s0t1v2w6 (health-sweep on all nodes) is running: 1/4 steps done');
    expect(sections(msg)).toEqual([
      ':arrows_counterclockwise: `inv_01j9z3k4m5n6p7q8r9s0t1v2w6` *health-sweep* on all nodes is *running*: 1/4 steps done',
      'Running now:\n• *Run queue latency* (`runqlat` on node-2)\n• *Block I/O latency* (`biolatency` on node-2)',
    ]);
    expectWithinSlackLimits(msg);
  });

  it('says a queued investigation without steps is waiting', () => {
    const msg = progressMessage({ ...running, status: 'queued', steps: [] });
    expect(msg.text).toBe('inv_01j9z3k4m5n6p7q8r9s0t1v2w6 (health-sweep on all nodes) is queued: waiting for a worker');
    expect(types(msg)).toEqual(['section']);
  });
});

describe('finalMessage', () => {
  it('posts a succeeded enospc run to the channel with findings, context and buttons', () => {
    const msg = finalMessage(enospcSucceeded, { report: links.report, self: links.self });
    expect(msg.response_type).toBe('in_channel');
    expect(types(msg)).toEqual(['header', 'section', 'section', 'section', 'section', 'context', 'actions']);
    expect(msg.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: ':white_check_mark: enospc succeeded on pod=shop/cart-7d9f', emoji: true },
    });
    expect(sections(msg)[0]).toBe('*mount(2) fails: mount namespace of pid 4242 holds 99990 mounts, limit fs.mount-max=100000*');
    expect(sections(msg)[1]).toBe(
      ':red_circle: _critical_ *Mount namespace of pid 4242 (containerd-shim) holds 99990 mounts: 100% of fs.mount-max*\n' +
        'fs.mount-max is 100000; at the limit every mount(2) in this namespace fails with ENOSPC. Mount points repeated most: /var/lib/kubelet/pods ×41210, /run/containerd ×12001.',
    );
    // Markup characters from the investigation are escaped, not interpreted.
    expect(sections(msg)[2]).toBe(':warning: _warning_ *mount fails with ENOSPC 1,204 times in 30s*\nrunc &lt;pid 5120&gt; in shop/cart-7d9f: 1,204 &amp; counting');
    expect(sections(msg)[3]).toBe(':information_source: _info_ *funcgraph skipped*\nthe kernel has no function_graph tracer');
    const ctx = msg.blocks[5];
    expect(ctx).toEqual({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `<${links.self}|inv_01j9z3k4m5n6p7q8r9s0t1v2w3> · pod=shop/cart-7d9f · requested by <@U2CERLKJA> · took 32.4 s`,
        },
      ],
    });
    expect(msg.blocks[6]).toEqual({
      type: 'actions',
      elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open report', emoji: true }, url: links.report, action_id: 'open_report', style: 'primary' }],
    });
    expect(msg.text).toBe(':white_check_mark: enospc on pod=shop/cart-7d9f succeeded: mount(2) fails: mount namespace of pid 4242 holds 99990 mounts, limit fs.mount-max=100000');
    expectWithinSlackLimits(msg);
  });

  it('shows the top functions of a CPU profile, the flamegraph image and both buttons', () => {
    const msg = finalMessage(cpuProfileSucceeded, links);
    expect(types(msg)).toEqual(['header', 'section', 'section', 'section', 'context', 'image', 'actions']);
    expect(sections(msg)[2]).toBe(
      [
        '*Top functions* on node-17 (23,760 samples)',
        '```',
        '  self  total  function',
        '   31%    32%  crc32c_pcl_intel_update',
        '   12%    20%  std::vector&lt;std::pair&lt;int, int&gt;, std::allocator&lt;std::pair&lt;int, int&gt; &gt; &gt;::_M_realloc_insert',
        '  5.1%   5.1%  __memcpy_avx_unaligned_erms',
        '  0.0%    93%  main',
        '```',
      ].join('\n'),
    );
    expect(msg.blocks[5]).toEqual({
      type: 'image',
      image_url: links.flamegraphPng,
      alt_text: 'CPU flamegraph of node=node-17 (cpu-profile, inv_01j9z3k4m5n6p7q8r9s0t1v2w4)',
      title: { type: 'plain_text', text: 'Flamegraph', emoji: false },
    });
    const actions = msg.blocks[6];
    expect(actions?.type === 'actions' ? actions.elements.map((e) => [e.text.text, e.url, e.style]) : []).toEqual([
      ['Open report', links.report, 'primary'],
      ['Flamegraph', links.flamegraph, undefined],
    ]);
    // Not a Slack user: shown as it is. Over a minute: minutes and seconds.
    expect(texts(msg)).toContain(`<${links.self}|inv_01j9z3k4m5n6p7q8r9s0t1v2w4> · node=node-17 · requested by api:ci-bot · took 1 min 35 s`);
    expectWithinSlackLimits(msg);
  });

  it('says why a run failed, lists the failed steps, and has no buttons without links', () => {
    const msg = finalMessage(enospcFailed, {});
    expect(types(msg)).toEqual(['header', 'section', 'section', 'context']);
    expect(msg.blocks[0]).toMatchObject({ text: { text: ':x: enospc failed on node=node-3' } });
    expect(sections(msg)).toEqual([
      'Failed: node node-3 stopped heartbeating during the capture',
      'Steps that did not succeed:\n• *Syscalls failing with ENOSPC* (`syscount` on node-3): failed: agent on node-3 went away (no heartbeat for 6 s)',
    ]);
    expect(texts(msg)).toContain('`inv_01j9z3k4m5n6p7q8r9s0t1v2w5` · node=node-3 · requested by <@U0000AAAA> · took 6.0 s');
    expect(msg.text).toBe(':x: enospc on node=node-3 failed: node node-3 stopped heartbeating during the capture');
    expectWithinSlackLimits(msg);
  });

  it('leaves out links that are not http(s) or too long rather than break the message', () => {
    const msg = finalMessage(cpuProfileSucceeded, {
      report: 'javascript:alert(1)',
      flamegraph: `https://x.example/${'a'.repeat(3000)}`,
      flamegraphPng: 'not a url',
      self: 'ftp://x.example/inv',
    });
    expect(types(msg)).not.toContain('actions');
    expect(types(msg)).not.toContain('image');
    expect(texts(msg).some((t) => t.startsWith('`inv_01j9z3k4m5n6p7q8r9s0t1v2w4` · '))).toBe(true);
  });

  it('keeps links with "|" or ">" from ending the mrkdwn link early', () => {
    const msg = finalMessage(enospcFailed, { self: 'https://x.example/a|b>c?x=1&y=2' });
    expect(texts(msg).some((t) => t.startsWith('<https://x.example/a%7Cb%3Ec?x=1&amp;y=2|inv_01j9z3k4m5n6p7q8r9s0t1v2w5> · '))).toBe(true);
  });

  it('fits 30 findings and texts far over every limit, with "+N more" and ellipses', () => {
    const inv = overflowing();
    const msg = finalMessage(inv, links);
    expectWithinSlackLimits(msg);
    const findings = sections(msg).filter((t) => /^:(red_circle|warning|information_source): _/.test(t));
    expect(findings).toHaveLength(8);
    expect(texts(msg)).toContain('+22 more findings in the report');
    for (const f of findings) {
      expect(f.length).toBeLessThanOrEqual(3000);
      expect(f.endsWith('…')).toBe(true);
      // Nothing from the investigation survives unescaped, and no entity is cut in half.
      expect(f).not.toMatch(/<|>/);
      expect(f).not.toMatch(/&(?!amp;|lt;|gt;)/);
    }
    const headline = sections(msg)[0] ?? '';
    expect(headline.startsWith('*headline &lt;b&gt; &amp; ')).toBe(true);
    expect(headline.endsWith('…*')).toBe(true);
    const header = msg.blocks[0];
    expect(header?.type === 'header' && header.text.text.length === 150 && header.text.text.endsWith('…')).toBe(true);
    const symptom = texts(msg).find((t) => t.startsWith('Symptom: ')) ?? '';
    expect(symptom.startsWith('Symptom: mount &lt;fails&gt; &amp; ')).toBe(true);
    expect(msg.text.endsWith('…')).toBe(true);
  });
});

describe('statusMessage', () => {
  it('is the result, but only for the asker, once the investigation has finished', () => {
    const msg = statusMessage(enospcSucceeded, links);
    expect(msg.response_type).toBe('ephemeral');
    expect(msg.blocks).toEqual(finalMessage(enospcSucceeded, links).blocks);
  });

  it('is the progress while it runs', () => {
    expect(statusMessage(running, links)).toEqual(progressMessage(running));
  });
});

describe('errorMessage', () => {
  it('is ephemeral, escaped, and drops stack traces', () => {
    const err = new Error('could not reach <redis> & S3');
    const msg = errorMessage(err.stack ?? '');
    expect(msg.response_type).toBe('ephemeral');
    expect(msg.text).toBe('Error: could not reach &lt;redis&gt; &amp; S3');
    expect(msg.blocks).toEqual([{ type: 'section', text: { type: 'mrkdwn', text: ':warning: Error: could not reach &lt;redis&gt; &amp; S3' } }]);
    expect(JSON.stringify(msg)).not.toContain('chatops-blocks.test.ts');
  });

  it('says something even for an empty text, and cuts a long one', () => {
    expect(errorMessage('').text).toBe('Something went wrong.');
    expectWithinSlackLimits(errorMessage('x'.repeat(10_000)));
  });
});

describe('helpMessage', () => {
  it('escapes the help for Slack so that "<id>" is not taken for a link', () => {
    const msg = helpMessage(undefined, [{ name: 'enospc', title: 'Who gets ENOSPC, and why' }]);
    expect(msg.response_type).toBe('ephemeral');
    const all = sections(msg).join('\n');
    expect(all).toContain('`/investigate status &lt;id&gt;`');
    expect(all).toContain('• `enospc` — Who gets ENOSPC, and why');
    expectWithinSlackLimits(msg);
  });

  it('splits a long playbook list over several sections', () => {
    const many = Array.from({ length: 200 }, (_, i) => ({ name: `playbook-${i}`, title: 'x'.repeat(40) }));
    const msg = helpMessage(undefined, many);
    expect(msg.blocks.length).toBeGreaterThan(1);
    expectWithinSlackLimits(msg);
    expect(sections(msg).join('\n')).toContain('`playbook-199`');
  });
});

describe('sweepsMessage', () => {
  it('lists each schedule with its next run and last result', () => {
    const msg = sweepsMessage([
      {
        name: 'nightly',
        cron: '0 3 * * *',
        playbook: 'health-sweep',
        nextRunAt: '2025-03-05T03:00:00.000Z',
        lastInvestigation: { id: 'inv_01j9z3k4m5n6p7q8r9s0t1v2w6', status: 'succeeded', headline: 'node-2: run queue p99 <= 4 ms' },
      },
      { name: 'cart-disk', every: 3_600_000, playbook: 'enospc', target: { pod: 'shop/cart-7d9f' }, nextRunAt: null, lastInvestigation: null },
      { name: 'fast', every: 300_000, playbook: 'runqlat', target: { node: 'node-17' } },
    ]);
    expect(msg.response_type).toBe('ephemeral');
    expect(msg.text).toBe('3 scheduled sweeps: nightly, cart-disk, fast');
    expect(types(msg)).toEqual(['header', 'section', 'section', 'section']);
    expect(sections(msg)).toEqual([
      '*nightly*: `health-sweep` on all nodes, cron `0 3 * * *`\n' +
        'Next run: <!date^1741143600^{date_short_pretty} {time}|2025-03-05T03:00:00.000Z>\n' +
        'Last: :white_check_mark: `inv_01j9z3k4m5n6p7q8r9s0t1v2w6` succeeded: node-2: run queue p99 &lt;= 4 ms',
      '*cart-disk*: `enospc` on pod=shop/cart-7d9f, every 1h\nNext run: none planned\nLast: never ran',
      '*fast*: `runqlat` on node=node-17, every 5m\nLast: never ran',
    ]);
    expectWithinSlackLimits(msg);
  });

  it('says so when nothing is scheduled, and caps a long list', () => {
    expect(sweepsMessage([]).blocks).toEqual([{ type: 'section', text: { type: 'mrkdwn', text: 'No sweeps are scheduled.' } }]);
    const many = Array.from({ length: 60 }, (_, i) => ({ name: `s${i}`, every: 60_000, playbook: 'health-sweep' }));
    const msg = sweepsMessage(many);
    expectWithinSlackLimits(msg);
    expect(texts(msg)).toContain('+15 more sweeps');
  });
});
