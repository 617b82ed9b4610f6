import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { standInCodeDir, tempDir } from './stack-fixture.ts';

const INFRA_AWS = fileURLToPath(new URL('..', import.meta.url));
const CDK = fileURLToPath(new URL('../../../node_modules/.bin/cdk', import.meta.url));

describe('cdk synth', () => {
  it('runs offline from infra/aws with its cdk.json and writes the stack\'s template', async () => {
    const out = tempDir('synth');
    const started = performance.now();
    await promisify(execFile)(
      CDK,
      ['synth', '--quiet', '-o', out, '-c', `lambdaCodeDir=${standInCodeDir()}`, '-c', 'workerImage=ghcr.io/example/tracehound:1', '-c', 'artifactRetentionDays=12'],
      // No credentials and no way out: a lookup or a network call would fail the synth.
      { cwd: INFRA_AWS, env: { ...process.env, AWS_ACCESS_KEY_ID: '', AWS_PROFILE: '', HTTPS_PROXY: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9' }, timeout: 90_000 },
    );
    console.log(`cdk synth took ${Math.round(performance.now() - started)} ms`);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as {
      artifacts: Record<string, { type: string; properties?: { templateFile?: string } }>;
      missing?: unknown[];
    };
    expect(manifest.artifacts.Tracehound).toMatchObject({ type: 'aws:cloudformation:stack', properties: { templateFile: 'Tracehound.template.json' } });
    const template = JSON.parse(readFileSync(join(out, 'Tracehound.template.json'), 'utf8')) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
    const bucket = Object.values(template.Resources).find((r) => r.Type === 'AWS::S3::Bucket')!;
    // The context reached the app: the CLI ran this app, not a stale assembly.
    expect((bucket.Properties.LifecycleConfiguration as { Rules: Array<{ ExpirationInDays: number }> }).Rules[0]!.ExpirationInDays).toBe(12);
    // Synthesized without lookups: the assembly asks for no context it lacks (Vpc.fromLookup and the like would).
    expect(manifest.missing).toBeUndefined();
  }, 90_000);
});
