// The stack restates a few facts whose home is the service's code (infra imports nothing from src/): these tests
// read them from there, so the two cannot drift apart unnoticed.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../../src/config.ts';
import { KEY_ROOT, diffKey } from '../../../src/storage/keys.ts';
import { LAMBDA_BUNDLE, LAMBDA_HANDLER } from '../lambda-code.ts';
import { LINK_SECRET_KEY } from '../secrets.ts';
import { OBJECT_PREFIXES } from '../storage.ts';
import { flat, resourceOf, synthStack } from './stack-fixture.ts';

const source = (path: string) => readFileSync(fileURLToPath(new URL(`../../../${path}`, import.meta.url)), 'utf8');
const configNames = new Set(Object.keys(ConfigSchema.shape));

describe('facts shared with the service', () => {
  it('grants and expires exactly the key prefixes src/storage/keys.ts writes under', () => {
    // Every key starts at KEY_ROOT; no other root may be spelled in keys.ts.
    const text = source('src/storage/keys.ts');
    expect([...OBJECT_PREFIXES]).toEqual([KEY_ROOT]);
    expect([...text.matchAll(/'([a-z_-]+\/)'/g)].map((m) => m[1])).toEqual([KEY_ROOT]);
    expect(diffKey('inv_a', 'inv_b', { normalize: true }).startsWith(KEY_ROOT)).toBe(true);
  });

  it('sets only configuration names src/config.ts knows (the secret loader\'s among them) and Node\'s own', () => {
    const { stack, template } = synthStack();
    const [, fn] = resourceOf(stack, template, stack.apiFunction.fn);
    const [, task] = resourceOf(stack, template, stack.workers.taskDefinition);
    const container = (task.ContainerDefinitions as Array<{ Environment: Array<{ Name: string }>; Secrets: Array<{ Name: string }> }>)[0]!;
    const names = new Set([
      ...Object.keys((fn.Environment as { Variables: Record<string, unknown> }).Variables),
      ...container.Environment.map((e) => e.Name),
      ...container.Secrets.map((e) => e.Name),
    ]);
    const unknown = [...names].filter((n) => !configNames.has(n));
    expect(unknown.sort()).toEqual(['NODE_OPTIONS']);
    expect(names.has('TRACEHOUND_SECRET_ARN')).toBe(true);
    expect(flat((fn.Environment as { Variables: Record<string, unknown> }).Variables.S3_FORCE_PATH_STYLE)).toBe('false');
  });

  it('generates a secret key that is a configuration name', () => {
    expect(configNames.has(LINK_SECRET_KEY)).toBe(true);
  });

  it('points the handler at what the build writes and the Lambda entry exports', () => {
    expect(LAMBDA_HANDLER).toBe(`${LAMBDA_BUNDLE.replace(/\.mjs$/, '')}.handler`);
    expect(source('scripts/build.mjs')).toContain(`${LAMBDA_BUNDLE.replace(/^dist\/|\.mjs$/g, '')}: 'entry/lambda.ts'`);
    expect(source('entry/lambda.ts')).toMatch(/^export (const|async function|function) handler\b/m);
  });
});
