import type { Config } from '../config.ts';
import { ValidationError } from '../core/errors.ts';
import type { Inventory } from './inventory.ts';
import { KubernetesInventory } from './kubernetes.ts';
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
      const inv = KubernetesInventory.fromEnvironment(env);
      if (!inv) throw new ValidationError('INVENTORY=kubernetes needs in-cluster config or KUBECONFIG', [{ path: 'INVENTORY', message: 'no Kubernetes configuration found' }]);
      return inv;
    }
    case 'auto':
      return KubernetesInventory.fromEnvironment(env) ?? (await fromFile());
  }
}
