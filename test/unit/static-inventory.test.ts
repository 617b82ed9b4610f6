import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, UnsupportedTargetError, ValidationError } from '../../src/core/errors.ts';
import { StaticInventory, parseStaticInventory } from '../../src/inventory/static.ts';
import { rejection } from '../helpers/rejection.ts';

const VALID = `# plain hosts without Kubernetes
hosts:
  - name: node-17
    labels: { zone: a, example.com/rack: r12 }
  - name: db-1
`;

function parseError(text: string): ValidationError {
  try {
    parseStaticInventory(text, 'hosts.yaml');
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error('expected a ValidationError');
}

describe('StaticInventory', () => {
  let dir: string;
  let file: string;
  let inventory: StaticInventory;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tracehound-static-'));
    file = join(dir, 'hosts.yaml');
    await writeFile(file, VALID, 'utf8');
    inventory = await StaticInventory.fromFile(file);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lists the hosts of a valid file, sorted, with labels', async () => {
    expect(inventory.kind).toBe('static');
    expect(await inventory.nodes()).toEqual([
      { name: 'db-1', labels: {} },
      { name: 'node-17', labels: { zone: 'a', 'example.com/rack': 'r12' } },
    ]);
  });

  it('passes a known node through, alone or with a cgroup/pid scope', async () => {
    expect(await inventory.resolve({ node: 'node-17' })).toEqual({ nodes: ['node-17'], pods: [] });
    expect(await inventory.resolve({ node: 'db-1', cgroup: '/system.slice/postgresql.service', pid: 812 })).toEqual({
      nodes: ['db-1'],
      pods: [],
    });
    expect(await inventory.resolve({ pid: 812 })).toEqual({ nodes: [], pods: [] });
  });

  it('answers an unknown node with NotFoundError naming the node and the file', async () => {
    const err = await rejection(inventory.resolve({ node: 'node-99' }));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toBe(`node node-99 is not in ${file} (known: db-1, node-17)`);
  });

  it.each([
    [{ pod: 'shop/cart-7d9f' }, 'pod targets need the Kubernetes inventory'],
    [{ namespace: 'shop', labelSelector: 'app=cart' }, 'labelSelector targets need the Kubernetes inventory'],
    [{ namespace: 'shop', node: 'node-17' }, 'namespace targets need the Kubernetes inventory'],
  ])('refuses the Kubernetes target %j', async (target, message) => {
    const err = await rejection(inventory.resolve(target));
    expect(err).toBeInstanceOf(UnsupportedTargetError);
    expect(err.message).toContain(message);
  });

  it('names the file when it cannot be read', async () => {
    const missing = join(dir, 'missing.yaml');
    const err = await rejection(StaticInventory.fromFile(missing));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toContain(`${missing}: cannot read the static inventory`);
  });

  it('names the file and the path of a schema violation, read from disk', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'hosts:\n  - name: Node_17\n', 'utf8');
    const err = await rejection(StaticInventory.fromFile(bad));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).errors).toEqual([
      { path: `${bad}#hosts.0.name`, message: 'expected a DNS-1123 name such as "node-17"' },
    ]);
    expect(err.message).toContain(`${bad}: invalid static inventory: ${bad}#hosts.0.name`);
  });
});

describe('parseStaticInventory', () => {
  it('reports every problem with its path', () => {
    const err = parseError('hosts:\n  - name: a\n    labels: { "bad key!": x }\n  - name: a\n    role: db\n');
    expect(err.errors.map((e) => e.path)).toEqual(['hosts.yaml#hosts.0.labels.bad key!', 'hosts.yaml#hosts.1']);
    expect(err.errors[1]?.message).toContain('role');
  });

  it('refuses duplicate host names', () => {
    const err = parseError('hosts:\n  - name: a\n  - name: a\n');
    expect(err.errors).toEqual([{ path: 'hosts.yaml#hosts.1.name', message: 'host "a" is listed twice' }]);
  });

  it('refuses a file without hosts', () => {
    expect(parseError('hosts: []\n').errors).toEqual([{ path: 'hosts.yaml#hosts', message: 'list at least one host' }]);
    expect(parseError('nodes:\n  - name: a\n').errors.map((e) => e.path)).toEqual(['hosts.yaml#hosts', 'hosts.yaml#(root)']);
    expect(parseError('').errors.map((e) => e.path)).toEqual(['hosts.yaml#(root)']);
  });

  it('names line and column of a YAML syntax error', () => {
    const err = parseError('hosts:\n  - name: a\n   labels: {zone: a\n');
    expect(err.message).toMatch(/^hosts\.yaml: not valid YAML: hosts\.yaml:3:1: /);
    expect(err.errors[0]?.path).toBe('hosts.yaml:3:1');
  });
});
