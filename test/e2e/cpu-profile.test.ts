import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProfileResult } from '../../bpf/bpftrace/profile/result.ts';
import { assertBpf, bpfSuiteName, skipBpf } from '../helpers/bpf.ts';
import { createBurnerCgroup, type BurnerCgroup } from '../helpers/burner.ts';
import { describeSteps } from '../helpers/steps.ts';
import { startSystem, type TestSystem } from '../helpers/system.ts';


describe.skipIf(skipBpf)(bpfSuiteName('cpu-profile investigation of a process burning CPU in a known function'), () => {
  let sys: TestSystem;
  let burn: BurnerCgroup;

  beforeAll(async () => {
    assertBpf();
    burn = createBurnerCgroup('profile');
    sys = await startSystem();
  });

  afterAll(async () => {
    burn?.remove();
    await sys?.stop();
  });

  it('finds crunch_alpha at the top and stores the folded stacks', async () => {
    const burner = burn.start();
    const res = await sys.post('/v1/investigations', {
      playbook: 'cpu-profile',
      target: { cgroup: burn.cg.path },
      params: { duration: '3s', hz: 199 },
    });
    expect(res.status).toBe(202);
    const inv = await sys.waitFor(res.json.id as string);
    expect(inv.status, describeSteps(inv.steps)).toBe('succeeded');
    const result = inv.steps[0]!.result as ProfileResult;
    expect(result.hz).toBe(199);
    // One CPU-bound thread for ~3 s at 199 Hz: hundreds of samples (attach time eats into the window).
    expect(result.samples).toBeGreaterThan(150);
    const names = result.topFunctions.map((f) => f.name);
    expect(names[0]).toBe('crunch_alpha');
    expect(names).toContain('crunch_beta');
    const alpha = result.topFunctions[0]!;
    expect(alpha.self).toBeGreaterThan(0.5);
    // Who burns it, by name and pid: every sample was the burner's (the kernel filtered by its cgroup).
    expect(result.processes).toEqual([{ pid: burner.pid, comm: 'th-burner', samples: result.samples }]);
    expect(inv.summary?.headline).toMatch(
      new RegExp(`^Hottest function on test-node: crunch_alpha — \\d+% of [\\d,]+ samples .*, mostly in th-burner \\(pid ${burner.pid}: 100% of samples\\)$`),
    );

    const folded = await sys.get(`/v1/investigations/${inv.id}/artifacts/cpu/test-node/stacks.folded`);
    expect(folded.status).toBe(200);
    expect(folded.contentType).toMatch(/^text\/plain/);
    const lines = folded.text.trim().split('\n');
    // Every sample came from the burner (filtered by cgroup in the kernel), and its stack runs main → crunch_*.
    expect(lines.every((l) => l.startsWith('th-burner;'))).toBe(true);
    expect(lines.some((l) => /;main;crunch_alpha( |;)/.test(l))).toBe(true);
    const total = lines.reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    expect(total).toBe(result.samples);

    // The HTML report stands alone: headline and the top functions table.
    const report = await sys.get(`/v1/investigations/${inv.id}/report`);
    expect(report.status).toBe(200);
    expect(report.contentType).toMatch(/^text\/html/);
    expect(report.text).toContain('<td><code>crunch_alpha</code></td>');
    // The interactive flamegraph is stored and embedded in the report, with the hot function in it.
    const svg = await sys.get(`/v1/investigations/${inv.id}/artifacts/cpu/test-node/flamegraph.svg`);
    expect(svg.contentType).toBe('image/svg+xml');
    expect(svg.text).toMatch(/<title>crunch_alpha \([\d,]+ samples, [\d.]+%\)<\/title>/);
    expect(report.text).toContain('<iframe title="cpu/test-node/flamegraph.svg"');
    expect(report.text).toContain('crunch_alpha (');
    // Nobody is to be sent this one in chat, so the agent drew no thumbnail; asked for, the API draws it, stores
    // it beside the SVG and serves it byte-exact (fetched directly: the helper's get decodes bodies as text).
    expect(inv.artifacts.some((a) => a.name.endsWith('flamegraph.png'))).toBe(false);
    const fetchPng = () =>
      fetch(`${sys.url}/v1/investigations/${inv.id}/artifacts/cpu/test-node/flamegraph.png`, { headers: { authorization: `Bearer ${sys.tokens.admin}` } });
    const png = await fetchPng();
    expect(png.status).toBe(200);
    expect(png.headers.get('content-type')).toBe('image/png');
    const pngBytes = Buffer.from(await png.arrayBuffer());
    expect(pngBytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(pngBytes.readUInt32BE(16)).toBe(1200);
    expect(Buffer.from(await (await fetchPng()).arrayBuffer()).equals(pngBytes)).toBe(true);
    // Only flamegraphs get pictures.
    expect((await sys.get(`/v1/investigations/${inv.id}/artifacts/cpu/test-node/raw.png`)).status).toBe(404);

    // A second profile of the same program, compared with the first: a differential flamegraph.
    const again = await sys.post('/v1/investigations', { playbook: 'cpu-profile', target: { cgroup: burn.cg.path }, params: { duration: '2s', hz: 199 } });
    const second = await sys.waitFor(again.json.id as string);
    expect(second.status, describeSteps(second.steps)).toBe('succeeded');
    const diff = await sys.get(`/v1/investigations/${inv.id}/diff/${second.id}`);
    expect(diff.status).toBe(200);
    expect(diff.contentType).toBe('image/svg+xml');
    expect(diff.text).toContain('crunch_alpha (');
    expect((await sys.get(`/v1/investigations/${inv.id}/diff/${second.id}?normalize=maybe`)).status).toBe(400);
    expect((await sys.get(`/v1/investigations/${inv.id}/diff/inv_00000000000000000000000000`)).status).toBe(404);
    expect(report.text).toContain(inv.summary!.headline.replace(/&/g, '&amp;'));
  });
});
