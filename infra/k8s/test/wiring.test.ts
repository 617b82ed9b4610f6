import { readFileSync } from 'node:fs';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import type { IConfigMap, IContainer, IService } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigSchema } from '../../../src/config.ts';
import { cliCommands } from '../../../test/helpers/cli-parts.ts';
import { IMAGE, IMAGE_NAME } from '../src/image.ts';
import { CONFIG_MAP, HTTP_PATHS, PARTS, partName } from '../src/names.ts';
import { policyName } from '../src/network.ts';
import { portOf } from '../src/settings.ts';
import { baseDocs, containersOf, find, workloads, type Doc } from './base-docs.ts';

const source = (rel: string) => readFileSync(new URL(`../../../${rel}`, import.meta.url), 'utf8');
const CONFIG_KEYS = new Set(Object.keys(ConfigSchema.shape));

describe('the manifests fit the code they deploy', () => {
  const docs = baseDocs();
  const config = find<IConfigMap & Doc>(docs, 'ConfigMap', CONFIG_MAP).data ?? {};
  const containers = workloads(docs).flatMap((w) => containersOf(w).map((c) => [`${w.metadata.name}/${c.name}`, c] as const));

  /** A container's environment as the process sees it: the ConfigMap, then its own env (which wins). */
  const environment = (c: IContainer) => ({
    ...config,
    ...Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? (e.valueFrom?.fieldRef ? 'node-from-downward-api' : undefined)])),
  });

  it.each(containers)('%s: every variable is one src/config.ts knows, and the whole passes its schema', (_name, c) => {
    const env = environment(c);
    for (const name of Object.keys(env)) expect(CONFIG_KEYS, `${name} is not read by src/config.ts`).toContain(name);
    const parsed = ConfigSchema.safeParse(env);
    expect(parsed.error?.issues ?? []).toEqual([]);
    // Both set, or the process would start private embedded servers instead of using the cluster's.
    expect(parsed.data?.REDIS_URL).toBeDefined();
    expect(parsed.data?.S3_ENDPOINT).toBeDefined();
    expect(parsed.data?.HOST).toBe('0.0.0.0');
  });

  it.each(containers)('%s runs one of the CLI\'s parts, from the one image', (_name, c) => {
    expect(cliCommands()).toEqual(expect.arrayContaining(c.args ?? []));
    expect(c.args).toHaveLength(1);
    expect(c.image).toBe(IMAGE);
  });

  it('runs every long-running part once, each a workload of its own', () => {
    expect(containers.map(([, c]) => c.args?.[0]).sort()).toEqual([...PARTS].sort());
    expect(cliCommands()).toEqual(expect.arrayContaining([...PARTS]));
  });

  it('probes paths the processes serve', () => {
    const health = source('src/api/routes/health.ts');
    for (const path of Object.values(HTTP_PATHS)) expect(health).toContain(`path: '${path}'`);
    expect(source('src/metrics-server.ts')).toContain(`'${HTTP_PATHS.metrics}'`);
    for (const [name, c] of containers) {
      const ports = (c.ports ?? []).map((p) => p.name);
      for (const probe of [c.livenessProbe, c.readinessProbe].filter((p) => p !== undefined)) {
        expect(ports, `${name} probes a port it does not declare`).toContain(probe.httpGet?.port);
      }
    }
  });

  it('sends traffic to the ports the processes listen on', () => {
    const api = containersOf(find<IDeployment & Doc>(docs, 'Deployment', partName('api')))[0]!;
    const apiPort = api.ports?.[0];
    expect(String(apiPort?.containerPort)).toBe(environment(api).PORT);
    const service = find<IService & Doc>(docs, 'Service', partName('api'));
    expect(service.spec?.ports?.map((p) => p.targetPort)).toEqual([apiPort?.name]);
    const ingress = find<INetworkPolicy & Doc>(docs, 'NetworkPolicy', policyName('api-ingress'));
    expect(ingress.spec?.ingress?.flatMap((r) => r.ports?.map((p) => p.port))).toEqual([apiPort?.name]);
    for (const c of containers.map(([, c]) => c).filter((c) => environment(c).METRICS_PORT !== undefined)) {
      expect(c.ports?.map((p) => String(p.containerPort))).toContain(environment(c).METRICS_PORT);
    }
  });

  it('lets the parts reach Redis and S3 on the ports the configuration names', () => {
    const egressPorts = (key: string) =>
      find<INetworkPolicy & Doc>(docs, 'NetworkPolicy', policyName(key)).spec?.egress?.flatMap((r) => r.ports?.map((p) => p.port));
    expect(egressPorts('redis-egress')).toEqual([portOf(config.REDIS_URL!)]);
    expect(egressPorts('s3-egress')).toEqual([portOf(config.S3_ENDPOINT!)]);
  });

  it('the example overlay overrides what base has', () => {
    const overlayDir = new URL('../overlays/example/', import.meta.url);
    const k = parse(readFileSync(new URL('kustomization.yaml', overlayDir), 'utf8')) as {
      images: { name: string }[];
      replicas: { name: string }[];
      configMapGenerator: { name: string; literals: string[] }[];
      patches: { path?: string; target?: { kind: string } }[];
    };
    expect(k.images.map((i) => i.name)).toEqual([IMAGE_NAME]);
    for (const r of k.replicas) find(docs, 'Deployment', r.name);
    for (const g of k.configMapGenerator) {
      find(docs, 'ConfigMap', g.name);
      for (const literal of g.literals) expect(CONFIG_KEYS).toContain(literal.split('=')[0]);
    }
    const files = k.patches.flatMap((p) => (p.path === undefined ? [] : [p.path]));
    const targets = k.patches.flatMap((p) => (p.target === undefined ? [] : [p.target.kind]));
    expect(files.length + targets.length).toBe(k.patches.length);
    for (const file of files) {
      const patch = parse(readFileSync(new URL(file, overlayDir), 'utf8')) as Doc;
      find(docs, patch.kind, patch.metadata.name);
    }
    for (const kind of targets) expect(docs.map((d) => d.kind)).toContain(kind);
  });
});
