import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { IDaemonSet, IDeployment } from 'kubernetes-models/apps/v1';
import type { IContainer } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { BASE_DIR } from '../src/synth.ts';

/** The committed manifests as the cluster would read them: every document of every base/*.yaml but the kustomization. */
export interface Doc {
  file: string;
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [key: string]: unknown;
}

export function baseDocs(dir = BASE_DIR): Doc[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((file) => parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d): Doc => ({ ...(d.toJS() as Doc), file })));
}

export function find<T = Doc>(docs: Doc[], kind: string, name: string): T {
  const doc = docs.find((d) => d.kind === kind && d.metadata.name === name);
  if (!doc) throw new Error(`no ${kind} ${name} in infra/k8s/base`);
  return doc as T;
}

export type Workload = (IDeployment | IDaemonSet) & Doc;

export const workloads = (docs: Doc[]) => docs.filter((d): d is Workload => d.kind === 'Deployment' || d.kind === 'DaemonSet');

export const containersOf = (w: Workload): IContainer[] => w.spec?.template.spec?.containers ?? [];
