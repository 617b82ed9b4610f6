import { readFileSync } from 'node:fs';
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
import { LinkSigner, verifySignedPath } from '../../src/auth/signed-links.ts';
import { Investigation } from '../../src/core/investigation.ts';
import { messageLinks } from '../../src/notify/links.ts';
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

  it('says why the playbook was chosen: the deciding words, the score and the runners-up', () => {
    const routing = {
      playbook: 'enospc',
      score: 0.82,
      confident: true,
      why: 'ENOSPC, mount',
      alternatives: [{ playbook: 'file-errors', score: 0.31, why: 'open' }],
    };
    const msg = ackMessage({ id: 'inv_01j9z3k4m5n6p7q8r9s0t1v2w3', playbook: 'enospc', target: { node: 'n1' }, routing });
    expect(types(msg)).toEqual(['section', 'context']);
    expect(texts(msg)).toContain('→ enospc (0.82): ENOSPC, mount; also: file-errors 0.31');
    expect(msg.text).toBe('Queued inv_01j9z3k4m5n6p7q8r9s0t1v2w3: enospc on node=n1. → enospc (0.82): ENOSPC, mount; also: file-errors 0.31');
    const triage = ackMessage({
      id: 'inv_01j9z3k4m5n6p7q8r9s0t1v2w3',
      playbook: 'triage',
      routing: { playbook: 'triage', score: 0, confident: false, why: 'no playbook reached 0.50; closest: cpu-profile 0.20 (slow) <b>', alternatives: [] },
    });
    expect(texts(triage)).toContain('→ triage (0.00): no playbook reached 0.50; closest: cpu-profile 0.20 (slow) &lt;b&gt;');
    expectWithinSlackLimits(triage);
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
  it('posts a succeeded enospc run to the channel with findings, next steps, evidence links, notes, context and buttons', () => {
    const evidence = new Map([
      ['mounts/node-17/result.json', 'https://tracehound.example/v1/investigations/inv_01j9z3k4m5n6p7q8r9s0t1v2w3/artifacts/mounts/node-17/result.json?exp=1&sig=m'],
      ['errors/node-17/result.json', 'https://tracehound.example/v1/investigations/inv_01j9z3k4m5n6p7q8r9s0t1v2w3/artifacts/errors/node-17/result.json?exp=1&sig=e'],
    ]);
    const msg = finalMessage(enospcSucceeded, { report: links.report, self: links.self, evidence });
    expect(msg.response_type).toBe('in_channel');
    expect(types(msg)).toEqual(['header', 'section', 'section', 'section', 'section', 'section', 'context', 'actions']);
    expect(msg.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: ':white_check_mark: enospc succeeded on pod=shop/cart-7d9f', emoji: true },
    });
    expect(sections(msg)[0]).toBe('*mount(2) fails: mount namespace of pid 4242 holds 99990 mounts, limit fs.mount-max=100000*');
    expect(sections(msg)[1]).toBe(
      ':red_circle: _critical · medium confidence_ *Mount namespace of pid 4242 (containerd-shim) holds 99990 mounts: 100% of fs.mount-max*\n' +
        'fs.mount-max is 100000; at the limit every mount(2) in this namespace fails with ENOSPC. Mount points repeated most: /var/lib/kubelet/pods ×41210, /run/containerd ×12001.\n' +
        '*Next:*\n```\nfindmnt -N 4242 | wc -l\ncat /proc/4242/mountinfo | wc -l\n```\n' +
        '*Fix:* Find what keeps adding MS_BIND|MS_REC mounts that propagate into this namespace (docker cp into a container with a bind-mounted host path is a known cause); raising fs.mount-max is only a stopgap.\n' +
        // Stored evidence links to its artifact; a name still in the agent's spool is shown as code.
        '*Evidence:* <https://tracehound.example/v1/investigations/inv_01j9z3k4m5n6p7q8r9s0t1v2w3/artifacts/mounts/node-17/result.json?exp=1&amp;sig=m|mounts/node-17/result.json>, `mount-calls/node-17/result.json`',
    );
    // Markup characters from the investigation are escaped, not interpreted.
    expect(sections(msg)[2]).toBe(
      ':warning: _warning · high confidence_ *mount fails with ENOSPC 1,204 times in 30s*\nrunc &lt;pid 5120&gt; in shop/cart-7d9f: 1,204 &amp; counting\n' +
        '*Evidence:* <https://tracehound.example/v1/investigations/inv_01j9z3k4m5n6p7q8r9s0t1v2w3/artifacts/errors/node-17/result.json?exp=1&amp;sig=e|errors/node-17/result.json>',
    );
    expect(sections(msg)[3]).toBe(':information_source: _info · high confidence_ *Most mounts are bind mounts*\n97% of the mounts are bind mounts of /var/lib/kubelet/pods');
    expect(sections(msg)[4]).toBe('*Not looked at:*\n• mount-path on node-17 could not run: the kernel has no function_graph tracer');
    const ctx = msg.blocks[6];
    expect(ctx).toEqual({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `<${links.self}|inv_01j9z3k4m5n6p7q8r9s0t1v2w3> · pod=shop/cart-7d9f · requested by <@U2CERLKJA> · took 32.4 s`,
        },
      ],
    });
    expect(msg.blocks[7]).toEqual({
      type: 'actions',
      elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open report', emoji: true }, url: links.report, action_id: 'open_report', style: 'primary' }],
    });
    // The fallback text is all Mattermost shows: the same headline, findings, next steps, evidence, notes and report.
    expect(msg.text.split('\n')).toEqual([
      ':white_check_mark: enospc on pod=shop/cart-7d9f succeeded: mount(2) fails: mount namespace of pid 4242 holds 99990 mounts, limit fs.mount-max=100000',
      ':red_circle: *Mount namespace of pid 4242 (containerd-shim) holds 99990 mounts: 100% of fs.mount-max*: fs.mount-max is 100000; at the limit every mount(2) in this namespace fails with ENOSPC. Mount points repeated most: /var/lib/kubelet/pods ×41210, /run/containerd ×12001.',
      'Next: `findmnt -N 4242 | wc -l` ; `cat /proc/4242/mountinfo | wc -l`',
      'Fix: Find what keeps adding MS_BIND|MS_REC mounts that propagate into this namespace (docker cp into a container with a bind-mounted host path is a known cause); raising fs.mount-max is only a stopgap.',
      'Evidence: <https://tracehound.example/v1/investigations/inv_01j9z3k4m5n6p7q8r9s0t1v2w3/artifacts/mounts/node-17/result.json?exp=1&amp;sig=m|mounts/node-17/result.json>, `mount-calls/node-17/result.json`',
      ':warning: *mount fails with ENOSPC 1,204 times in 30s*: runc &lt;pid 5120&gt; in shop/cart-7d9f: 1,204 &amp; counting',
      'Evidence: <https://tracehound.example/v1/investigations/inv_01j9z3k4m5n6p7q8r9s0t1v2w3/artifacts/errors/node-17/result.json?exp=1&amp;sig=e|errors/node-17/result.json>',
      ':information_source: *Most mounts are bind mounts*: 97% of the mounts are bind mounts of /var/lib/kubelet/pods',
      'Not looked at: mount-path on node-17 could not run: the kernel has no function_graph tracer',
      '<https://tracehound.example/v1/investigations/inv_01j9z3k4m5n6p7q8r9s0t1v2w3/report.html?sig=a&amp;exp=1|Open the report>',
    ]);
    expectWithinSlackLimits(msg);
  });

  it('lists findings in severity order whatever order the summary has them in', () => {
    const shuffled = Investigation.parse({
      ...enospcSucceeded,
      summary: { ...enospcSucceeded.summary, findings: [...enospcSucceeded.summary!.findings].reverse() },
    });
    const msg = finalMessage(shuffled, links);
    const order = (texts: string[]) => texts.flatMap((t) => [...t.matchAll(/:(red_circle|warning|information_source):/g)].map((m) => m[1]));
    expect(order(sections(msg))).toEqual(['red_circle', 'warning', 'information_source']);
    expect(order([msg.text])).toEqual(['red_circle', 'warning', 'information_source']);
  });

  it('links evidence to the report, saying so, when no artifact has a link of its own', () => {
    const msg = finalMessage(enospcSucceeded, { report: links.report });
    const critical = sections(msg)[1] ?? '';
    expect(critical.split('\n').at(-1)).toBe(
      `*Evidence* (linked from the <${links.report.replace(/&/g, '&amp;')}|report>): \`mounts/node-17/result.json\`, \`mount-calls/node-17/result.json\``,
    );
    // Without a report either, the names are code: nothing pretends to be a link.
    expect((sections(finalMessage(enospcSucceeded, {}))[1] ?? '').split('\n').at(-1)).toBe('*Evidence:* `mounts/node-17/result.json`, `mount-calls/node-17/result.json`');
  });

  it('never mentions a step that was not needed, in any block or the text', () => {
    const watches = /watches|inotify_add_watch/;
    for (const inv of [enospcSucceeded, Investigation.parse({ ...enospcSucceeded, status: 'cancelled', reason: 'cancelled by slack:U2CERLKJA' })]) {
      const msg = finalMessage(inv, links);
      expect(texts(msg).filter((t) => watches.test(t))).toEqual([]);
      expect(msg.text).not.toMatch(watches);
    }
  });

  it('lists failed, cancelled and unsupported steps of an unsuccessful run, but not a step that was not needed', () => {
    const inv = Investigation.parse({
      ...enospcFailed,
      steps: [
        ...enospcFailed.steps,
        { id: 'mounts', tool: 'mount-namespaces', node: null, status: 'skipped', skip: 'not-needed', reason: 'not needed: no mount(2) failed', artifacts: [] },
        { id: 'mount-path', tool: 'funcgraph', node: 'node-3', status: 'skipped', skip: 'unsupported', reason: 'the kernel has no function_graph tracer', artifacts: [] },
        { id: 'watches', tool: 'inotify-watches', node: 'node-3', status: 'cancelled', reason: 'the investigation failed first', artifacts: [] },
      ],
    });
    const list = sections(finalMessage(inv, {})).find((t) => t.startsWith('Steps that did not succeed:'));
    expect(list?.split('\n')).toEqual([
      'Steps that did not succeed:',
      '• *Syscalls failing with ENOSPC* (`syscount` on node-3): failed: agent on node-3 went away (no heartbeat for 6 s)',
      '• *mount-path* (`funcgraph` on node-3): skipped: the kernel has no function_graph tracer',
      '• *watches* (`inotify-watches` on node-3): cancelled: the investigation failed first',
    ]);
  });

  it('keeps a finding with a huge next step and many long evidence links within a section, never cutting a link', () => {
    const url = (i: number) => `https://tracehound.example/${String(i).padStart(2, '0')}/${'e'.repeat(260)}?sig=x`;
    const names = Array.from({ length: 9 }, (_, i) => `step-${i}/node-17/${'n'.repeat(40)}.json`);
    const inv = Investigation.parse({
      ...enospcSucceeded,
      summary: {
        headline: 'h',
        findings: [
          {
            severity: 'critical',
            title: 't'.repeat(500),
            detail: 'detail & <x> '.repeat(400),
            confidence: { level: 'low', reason: 'reason & '.repeat(50) },
            evidence: names.map((artifact, i) => ({ artifact, rows: [`/rows/${i}`] })),
            next: { commands: Array.from({ length: 7 }, (_, i) => `cmd-${i} ${'`a` & '.repeat(100)}`), remedy: 'fix & '.repeat(300) },
          },
        ],
        notes: [],
      },
    });
    const msg = finalMessage(inv, { evidence: new Map(names.map((n, i) => [n, url(i)])) });
    expectWithinSlackLimits(msg);
    const text = sections(msg)[1] ?? '';
    // Three links whole, the rest counted; the detail is what was cut to make room.
    expect([...text.matchAll(/<(https:[^|>]+)\|([^>]+)>/g)].map((m) => m[1])).toEqual([url(0), url(1), url(2)]);
    expect(text).toContain(' +6 more in the report');
    expect(text).toContain('# +3 more in the report\n```');
    expect(text).toMatch(/^:red_circle: _critical · low confidence_ \*t+…\*\ndetail &amp; &lt;x&gt; [^\n]*…\n\*Next:\*\n```\ncmd-0 /);
    // Backquotes inside a command cannot close the code block.
    expect(text.split('```')).toHaveLength(3);
    expect(msg.text.length).toBeLessThanOrEqual(LIMITS.fallbackText);
    expect([...msg.text.matchAll(/</g)].length).toBe([...msg.text.matchAll(/>/g)].length);
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

describe('messageLinks', () => {
  it('signs a link for each stored evidence artifact, none for one still spooled, and the message links them', () => {
    const secret = 'blocks-test-link-secret-0123456789abcdef';
    const made = messageLinks(enospcSucceeded, new LinkSigner(secret, 'https://tracehound.example/', 600));
    expect([...made.evidence.keys()].sort()).toEqual(['errors/node-17/result.json', 'mounts/node-17/result.json']);
    const now = Math.floor(Date.now() / 1000);
    for (const [name, url] of made.evidence) {
      const u = new URL(url);
      expect(u.origin).toBe('https://tracehound.example');
      expect(u.pathname).toBe(`/v1/investigations/${enospcSucceeded.id}/artifacts/${name}`);
      expect(verifySignedPath(secret, u.pathname, u.searchParams.get('exp') ?? undefined, u.searchParams.get('sig') ?? undefined, now)).toEqual({ ok: true });
    }
    const critical = sections(finalMessage(enospcSucceeded, made))[1] ?? '';
    const linked = [...critical.matchAll(/<([^|>]+)\|([^>]+)>/g)].map((m) => [m[1]!.replace(/&amp;/g, '&'), m[2]]);
    expect(linked).toEqual([[made.evidence.get('mounts/node-17/result.json'), 'mounts/node-17/result.json']]);
    expect(critical).toContain(', `mount-calls/node-17/result.json`');
  });
});

describe('a latency investigation in chat (records of real runs: test/fixtures/chatops/README.md)', () => {
  const recorded = (name: string) => Investigation.parse(JSON.parse(readFileSync(new URL(`../fixtures/chatops/${name}`, import.meta.url), 'utf8')));
  const signer = new LinkSigner('blocks-test-link-secret-0123456789abcdef', 'https://tracehound.example/', 600);
  const path = (url: string | undefined) => (url ? new URL(url).pathname : undefined);
  const buttons = (msg: SlackMessage) => msg.blocks.flatMap((b) => (b.type === 'actions' ? b.elements.map((e) => [e.text.text, path(e.url)]) : []));
  const image = (msg: SlackMessage) => msg.blocks.find((b) => b.type === 'image');

  it('shows the off-CPU flame graph when the target was waiting, with a button for each graph', () => {
    const inv = recorded('latency-waiting.json');
    expect(inv.summary!.findings[0]!.title).toMatch(/^Off-CPU time dominates/);
    const made = messageLinks(inv, signer);
    const base = `/v1/investigations/${inv.id}/artifacts`;
    expect([made.flamegraphKind, path(made.flamegraph), path(made.flamegraphPng)]).toEqual(['off-cpu', `${base}/offcpu/test-node/offcpu-flamegraph.svg`, `${base}/offcpu/test-node/offcpu-flamegraph.png`]);
    expect([made.otherFlamegraph?.kind, path(made.otherFlamegraph?.url)]).toEqual(['on-cpu', `${base}/cpu/test-node/flamegraph.svg`]);

    const msg = finalMessage(inv, made);
    expect(image(msg)).toMatchObject({
      image_url: made.flamegraphPng,
      alt_text: expect.stringMatching(/^Off-CPU flamegraph of cgroup=.*latency-sleep.* \(latency, inv_\w+\)$/),
      title: { text: 'Off-CPU flamegraph' },
    });
    expect(buttons(msg)).toEqual([
      ...(made.report ? [['Open report', path(made.report)]] : []),
      ['Off-CPU flamegraph', `${base}/offcpu/test-node/offcpu-flamegraph.svg`],
      ['CPU flamegraph', `${base}/cpu/test-node/flamegraph.svg`],
    ]);
    expectWithinSlackLimits(msg);
  });

  it('shows the on-CPU flame graph when the target was busy, the off-CPU one behind a button', () => {
    const inv = recorded('latency-busy.json');
    expect(inv.summary!.findings[0]!.title).toMatch(/^On-CPU time dominates/);
    const made = messageLinks(inv, signer);
    const base = `/v1/investigations/${inv.id}/artifacts`;
    expect([made.flamegraphKind, path(made.flamegraphPng)]).toEqual(['on-cpu', `${base}/cpu/test-node/flamegraph.png`]);
    const msg = finalMessage(inv, made);
    expect(image(msg)).toMatchObject({ alt_text: expect.stringMatching(/^CPU flamegraph of /), title: { text: 'Flamegraph' } });
    expect(buttons(msg).slice(-2)).toEqual([
      ['CPU flamegraph', `${base}/cpu/test-node/flamegraph.svg`],
      ['Off-CPU flamegraph', `${base}/offcpu/test-node/offcpu-flamegraph.svg`],
    ]);
    expectWithinSlackLimits(msg);
  });

  it('shows the one graph a run has, whichever it is', () => {
    const waiting = recorded('latency-waiting.json');
    const offOnly = Investigation.parse({ ...waiting, artifacts: waiting.artifacts.filter((a) => !a.name.startsWith('cpu/')) });
    const made = messageLinks(offOnly, signer);
    expect(made.flamegraphKind).toBe('off-cpu');
    expect(made).not.toHaveProperty('otherFlamegraph');
    expect(buttons(finalMessage(offOnly, made)).map(([label]) => label)).toContain('Off-CPU flamegraph');
    // With the on-CPU graph alone the message is as a CPU profile's always was: one graph, "Flamegraph".
    const busy = recorded('latency-busy.json');
    const onOnly = Investigation.parse({ ...busy, artifacts: busy.artifacts.filter((a) => !a.name.startsWith('offcpu/')) });
    const cpu = messageLinks(onOnly, signer);
    expect(cpu.flamegraphKind).toBe('on-cpu');
    expect(cpu).not.toHaveProperty('otherFlamegraph');
    expect(buttons(finalMessage(onOnly, cpu)).map(([label]) => label).slice(-1)).toEqual(['Flamegraph']);
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
