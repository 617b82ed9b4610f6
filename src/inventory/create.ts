import type { Config } from '../config.ts';
import { ValidationError } from '../core/errors.ts';
import type { Inventory } from './inventory.ts';
import { findKubeConfig } from './kube-config-source.ts';
import { StaticInventory } from './static.ts';

/** The inventory the configuration asks for; null where there is none (plain cgroup/pid/node targets only). */
export async function createInventory(config: Pick<Config, 'INVENTORY' | 'INVENTORY_FILE'>, env: NodeJS.ProcessEnv = process.env): Promise<Inventory | null> {
  const fromFile = () => (config.INVENTORY_FILE ? StaticInventory.fromFile(config.INVENTORY_FILE) : null);
  switch (config.INVENTORY) {
    case 'none':
      return null;
    case 'static': {
      const inv = await fromFile();
      if (!inv) throw new ValidationError('INVENTORY=static needs INVENTORY_FILE', [{ path: 'INVENTORY_FILE', message: 'required with INVENTORY=static' }]);
      return inv;
    }
    case 'kubernetes': {
      const inv = await kubernetes(env);
      if (!inv) throw new ValidationError('INVENTORY=kubernetes needs in-cluster config or KUBECONFIG', [{ path: 'INVENTORY', message: 'no Kubernetes configuration found' }]);
      return inv;
    }
    case 'auto':
      return (await kubernetes(env)) ?? (await fromFile());
  }
}

/** The Kubernetes client (@kubernetes/client-node and its HTTP stack) is loaded only when there is a cluster to ask. */
async function kubernetes(env: NodeJS.ProcessEnv): Promise<Inventory | null> {
  const source = findKubeConfig(env);
  if (source === null) return null;
  const { KubernetesInventory } = await import('./kubernetes.ts');
  return KubernetesInventory.fromSource(source);
}
