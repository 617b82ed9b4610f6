import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INVESTIGATION_ID_PART } from '../../src/core/ids.ts';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { createBurnerCgroup, type BurnerCgroup } from '../helpers/burner.ts';
import { startHookServer, type HookServer } from '../helpers/hook-server.ts';
import { describeSteps } from '../helpers/steps.ts';
import { blocksOf, SLACK_SECRET, slashCommand } from '../helpers/slack.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe.skipIf(skipBpf)(bpfSuiteName('/investigate profile from Slack: a real capture, its summary and flamegraph back in the channel'), () => {
  let sys: TestSystem;
  let hook: HookServer;
  let burn: BurnerCgroup;

  beforeAll(async () => {
    assertBpf();
    burn = createBurnerCgroup('slack');
    hook = await startHookServer();
    sys = await startSystem({ env: { SLACK_SIGNING_SECRET: SLACK_SECRET, NOTIFY_URL_HOSTS: hook.url } });
  });
  afterAll(async () => {
    burn?.remove();
    await sys?.stop();
    await hook?.close();
  });

  it('acks, then posts the hottest function, a PNG thumbnail and signed links that open without a token', async () => {
    burn.start();
    const responseUrl = `${hook.url}/commands/1234/abcd`;
    const ack = await slashCommand(sys.url, `profile cgroup=${burn.cg.path} for=3s hz=199`, { responseUrl });
    expect(ack.status).toBe(200);
    const id = new RegExp(INVESTIGATION_ID_PART).exec(blocksOf(ack.json).text)![0];
    const inv = await sys.waitFor(id);
    expect(inv, describeSteps(inv.steps)).toMatchObject({ status: 'succeeded', playbook: 'cpu-profile', requestedBy: 'slack:U0ALICE', params: { duration: '3s', hz: 199 } });

    const posts = await hook.waitFor(1, '/commands/1234/abcd');
    await new Promise((r) => setTimeout(r, 500));
    const all = hook.received.filter((r) => r.path === '/commands/1234/abcd').map((r) => r.body);
    expect(all.length).toBeLessThanOrEqual(5);
    expect(posts.length).toBeGreaterThan(0);
    const final = blocksOf(all.at(-1));
    expect((all.at(-1) as { response_type: string }).response_type).toBe('in_channel');
    expect(final.text).toContain('crunch_alpha');
    expect(final.text).toContain(inv.summary!.headline.slice(0, 30));

    // Slack shows only PNG/JPEG: the agent stored a thumbnail (this investigation goes to chat), and the image
    // block points at it through a signed link.
    expect(inv.artifacts).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'cpu/test-node/flamegraph.png', contentType: 'image/png' })]));
    expect(final.images).toHaveLength(1);
    expect(final.images[0]).toMatch(new RegExp(`/v1/investigations/${id}/artifacts/cpu/test-node/flamegraph\\.png\\?exp=\\d+&sig=`));
    const png = Buffer.from(await (await fetch(final.images[0]!)).arrayBuffer());
    expect(png.subarray(0, 8).equals(PNG)).toBe(true);
    const svg = await fetch(final.buttons['Flamegraph']!);
    expect(svg.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    expect(await svg.text()).toContain('crunch_alpha');
    const report = await fetch(final.buttons['Open report']!);
    expect(report.status).toBe(200);
    // The page's artifact links are signed to expire with the report's link: they open without a token too.
    const html = await report.text();
    const exp = new URL(final.buttons['Open report']!).searchParams.get('exp');
    const hrefs = [...html.matchAll(/href="(\/v1\/investigations\/[^"]+\/artifacts\/[^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
    expect(hrefs).toEqual(expect.arrayContaining([expect.stringContaining('/artifacts/cpu/test-node/stacks.folded?exp=')]));
    for (const href of hrefs) {
      expect(href).toMatch(new RegExp(`\\?exp=${exp}&sig=`));
      expect((await fetch(`${sys.url}${href}`)).status).toBe(200);
    }
    // Opened with a token, the same page links plainly: the token opens them.
    expect((await sys.get(`/v1/investigations/${id}/report`)).text).not.toContain('sig=');
    // The same link with its signature cut off is refused.
    expect((await fetch(final.buttons['Open report']!.replace(/&sig=.*/, ''))).status).toBe(401);
  });
});
