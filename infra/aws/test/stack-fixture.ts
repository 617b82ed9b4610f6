import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { App, type CfnElement, type Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { Template } from 'aws-cdk-lib/assertions';
import { BUILD_INFO, LAMBDA_BUNDLE } from '../lambda-code.ts';
import { TracehoundStack, type TracehoundStackProps } from '../tracehound-stack.ts';
import { afterAll } from 'vitest';

/** Every folder a test file makes, under one that goes when the file's tests are done (each file loads this anew). */
const TEMP = mkdtempSync(join(tmpdir(), 'tracehound-cdk-'));
afterAll(() => rmSync(TEMP, { recursive: true, force: true }));
export const tempDir = (name: string): string => mkdtempSync(join(TEMP, `${name}-`));

/** A repository-root stand-in: the real dist/ may not be built when these tests run. */
export function standInCodeDir(files: Record<string, string> = {}, opts: { withoutBundle?: boolean } = {}): string {
  const dir = tempDir('repo');
  const all = {
    ...(!opts.withoutBundle && {
      [LAMBDA_BUNDLE]: 'export const handler = async () => ({ statusCode: 200 });\n',
      'dist/lambda-chunk-A1.mjs': 'export const x = 1;\n',
      'dist/render-worker.mjs': '\n',
      // As scripts/build.mjs writes it: the function's files.
      [BUILD_INFO]: JSON.stringify({ lambdaFiles: [LAMBDA_BUNDLE, `${LAMBDA_BUNDLE}.map`, 'dist/lambda-chunk-A1.mjs', 'dist/render-worker.mjs'] }),
    }),
    'playbooks/x.yaml': 'name: x\n',
    ...files,
  };
  for (const [path, text] of Object.entries(all)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

export const WORKER_IMAGE = 'ghcr.io/example/tracehound:1.0.0';

export function synthStack(props: Partial<TracehoundStackProps> = {}): { stack: TracehoundStack; template: Template; app: App } {
  const app = new App({ outdir: tempDir('out') });
  const stack = new TracehoundStack(app, 'Test', { lambdaCodeDir: standInCodeDir(), workerImage: WORKER_IMAGE, ...props });
  return { stack, template: Template.fromStack(stack), app };
}

type Json = unknown;

/** A CloudFormation value as text, intrinsic functions spelled out ({Ref:X}, {X.Attr}), to match on. */
export function flat(v: Json): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(flat).join(',');
  if (v && typeof v === 'object') {
    const o = v as Record<string, Json>;
    if ('Ref' in o) return `{Ref:${flat(o.Ref)}}`;
    if ('Fn::GetAtt' in o) return `{${(o['Fn::GetAtt'] as string[]).join('.')}}`;
    if ('Fn::Join' in o) {
      const [sep, parts] = o['Fn::Join'] as [string, Json[]];
      return parts.map(flat).join(sep);
    }
    if ('Fn::Sub' in o) return flat(o['Fn::Sub']);
    return JSON.stringify(o);
  }
  return String(v);
}

export interface Statement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource?: Json;
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface IdentityStatement {
  /** Logical id of the policy or role holding it. */
  holder: string;
  /** Logical ids of the roles it applies to (none for a managed policy not attached in the template). */
  roles: string[];
  statement: Statement;
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every statement of every identity policy in the template: AWS::IAM::Policy, ManagedPolicy and roles' inline ones. */
export function identityStatements(template: Template): IdentityStatement[] {
  const out: IdentityStatement[] = [];
  const roleIds = (refs: Json): string[] => list(refs as Json[]).map((r) => flat(r).replace(/^\{Ref:(.*)\}$/, '$1'));
  for (const [id, r] of Object.entries(template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, Json> }>)) {
    const docs: Array<[Json, string[]]> = [];
    if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') docs.push([r.Properties.PolicyDocument, roleIds(r.Properties.Roles)]);
    if (r.Type === 'AWS::IAM::Role') {
      for (const p of list(r.Properties.Policies as Array<{ PolicyDocument: Json }> | undefined)) docs.push([p.PolicyDocument, [id]]);
    }
    for (const [doc, roles] of docs) {
      for (const statement of list((doc as { Statement: Statement[] }).Statement)) out.push({ holder: id, roles, statement });
    }
  }
  return out;
}

export const actionsOf = (s: Statement): string[] => list(s.Action);
export const resourcesOf = (s: Statement): string[] => list(s.Resource as Json[] | Json).map(flat);

/** The one resource of a type, with its logical id. */
export function only(template: Template, type: string): [string, Record<string, Json>] {
  const found = Object.entries(template.findResources(type));
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  const [id, r] = found[0]!;
  return [id, (r as { Properties: Record<string, Json> }).Properties];
}

/** The logical id and properties of the CloudFormation resource behind a construct (its default child for an L2). */
export function resourceOf(stack: Stack, template: Template, construct: IConstruct): [string, Record<string, Json>] {
  const cfn = (construct.node.defaultChild ?? construct) as CfnElement;
  const id = stack.getLogicalId(cfn);
  const r = (template.toJSON().Resources as Record<string, { Properties: Record<string, Json> }>)[id];
  if (!r) throw new Error(`no resource ${id} in the template`);
  return [id, r.Properties];
}
