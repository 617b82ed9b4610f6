import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { profile } from '../../bpf/bpftrace/profile/manifest.ts';
import type { ParseContext } from '../../bpf/tool.ts';
import { flamegraphThumbnails, isStepArtifact, profileArtifacts, thumbnailName } from '../../src/flamegraph/artifacts.ts';
import { renderFlamegraphPng } from '../../src/flamegraph/png.ts';
import { toolFixture } from '../helpers/recordings.ts';

/**
 * A profile's files come from one module (src/flamegraph/artifacts.ts) since issue #12; before, the profile parser
 * drew them. Their names, content types and bytes must not change: these are the sha-256 of each file made from
 * the recorded fixtures by the parser as it was, written down before the move.
 */
const sha256 = (body: string | Buffer) => createHash('sha256').update(body).digest('hex');
const ctx: ParseContext = { arch: 'x64', cgroupPathOf: () => null };

/** fixture, hz, then per file: name, content type, bytes, sha-256 (as the parser made them before #12). */
const BEFORE: [string, number, [string, string, number, string][]][] = [
  [
    'burner-pid.json',
    99,
    [
      ['stacks.folded', 'text/plain; charset=utf-8', 2263, '48a089e8621896c705e346216f419b2088a4c7716f7697f1ac42a7eabf5fe41a'],
      ['flamegraph.svg', 'image/svg+xml', 15144, '80b4efecb3302180cfce0a0fda8475420bcefdf1aeebcecfc90edc05f2281997'],
      ['profile.speedscope.json', 'application/json', 1599, '368a425d510a839d4ef4de072ad66c1ec21f27da5cb83a1f0716e2b8f9de3728'],
      ['profile.pb.gz', 'application/gzip', 866, '2a4e7a800f68fe306673bb757e8b89406fc648e1490c862fb687b49a98b447f1'],
    ],
  ],
  [
    'node-wide.json',
    49,
    [
      ['stacks.folded', 'text/plain; charset=utf-8', 4070, '0db96ee12e6d2ab62693c07ae9d075c5a129524a0221b102ef41e2cc344bb061'],
      ['flamegraph.svg', 'image/svg+xml', 20264, '30133189327b90e9fa4348837f52bf90cf27ab2a168fef5069b9707d1993cdb5'],
      ['profile.speedscope.json', 'application/json', 2515, '1d3ee04a068883ca2f7c0ac5be84afe691f23e9ce4fa7e103ab20f334c56d314'],
      ['profile.pb.gz', 'application/gzip', 1309, '13ddd008493bc8fccad06fb9d87f86b3b98b41fd850afc49f19d479f637996d5'],
    ],
  ],
  [
    'no-samples.json',
    99,
    [
      ['stacks.folded', 'text/plain; charset=utf-8', 0, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
      ['flamegraph.svg', 'image/svg+xml', 1415, 'c849fc296084e6284a0f64ef7a940e6026c283353b6e982c3df770da0e31a06e'],
      ['profile.speedscope.json', 'application/json', 301, '533e5e5326d0badf6a07e88d617ed42c6338cfae6a713b5a889dac2470ddd8ed'],
      ['profile.pb.gz', 'application/gzip', 82, 'c1075effea95ec337e6fac4925112259b8ec30f1958938ea36a9afd81c690a91'],
    ],
  ],
];

describe("a profile's files, made by src/flamegraph/artifacts.ts", () => {
  it.each(BEFORE)('%s at %i Hz: the same names, content types and bytes as the parser made before', (fixture, hz, files) => {
    const parsed = profile.parse(toolFixture('profile', fixture), profile.params.parse({ hz }), ctx);
    if (!parsed.stacks) throw new Error('profile returned no folded stacks');
    expect(parsed.extraArtifacts).toEqual([]);
    const made = profileArtifacts(parsed.stacks);
    expect(made.map((f) => [f.file, f.contentType, Buffer.byteLength(f.body), sha256(f.body)])).toEqual(files);
    expect(parsed.result.artifacts).toEqual(files.map(([name]) => name));
  });

  it("draws the thumbnail the agent drew before: renderFlamegraphPng of the SVG, beside it as flamegraph.png", () => {
    const parsed = profile.parse(toolFixture('profile', 'burner-pid.json'), profile.params.parse({ hz: 99 }), ctx);
    if (!parsed.stacks) throw new Error('profile returned no folded stacks');
    const made = profileArtifacts(parsed.stacks);
    const svg = made.find((f) => f.file === 'flamegraph.svg');
    const thumbs = flamegraphThumbnails(made, (err) => {
      throw err;
    });
    expect(thumbs.map((t) => [t.file, t.contentType])).toEqual([['flamegraph.png', 'image/png']]);
    expect(Buffer.compare(thumbs[0]!.body as Buffer, renderFlamegraphPng(String(svg?.body)))).toBe(0);
  });

  it('names files as the route, the report and chat links look for them', () => {
    expect(thumbnailName('cpu/node-17/flamegraph.svg')).toBe('cpu/node-17/flamegraph.png');
    expect(isStepArtifact('cpu/node-17/stacks.folded', 'stacks.folded')).toBe(true);
    expect(isStepArtifact('cpu/node-17/my-stacks.folded', 'stacks.folded')).toBe(false);
  });
});
