import { existsSync, readFileSync } from 'node:fs';
import { MAX_CGROUPS } from '../../bpf/bpftrace-output.ts';
import type { KernelScope } from '../../bpf/tool.ts';
import { UnsupportedTargetError } from '../../src/core/errors.ts';
import type { CaptureScope } from '../../src/core/target.ts';
import { cgroupIdOf } from './cgroups.ts';
import { CgroupNames, podCgroups } from './pod-cgroups.ts';

/**
 * A capture's scope in kernel terms on this node. Pods become their containers' leaf cgroup ids (the kernel compares
 * leaf ids) and ONLY those: a `cgroup` beside them is never added, so the filter is exactly the set the target
 * resolved to and was authorized for. Without pods, the cgroup's id. The pid narrows (every program ANDs it with
 * the cgroup set). `podNames` names result rows after their pods again.
 */
export function kernelScopeOf(scope: CaptureScope, node: string, cgroupRoot: string): { scope: KernelScope; podNames: CgroupNames | null } {
  const kernel: KernelScope = { cgroupIds: [], pid: 0 };
  let podNames: CgroupNames | null = null;
  if (scope.pods?.length) {
    const all = scope.pods.flatMap((p) => podCgroups(cgroupRoot, p));
    const missing = scope.pods.filter((p) => !all.some((c) => c.pod === `${p.namespace}/${p.name}`));
    if (missing.length) {
      throw new UnsupportedTargetError(`no cgroup for pod ${missing.map((p) => `${p.namespace}/${p.name}`).join(', ')} on node ${node} (not running here, or another cgroup root)`);
    }
    // Kernel slots are few: a pod-level cgroup whose processes all live in its container cgroups needs none.
    const found = all.filter((c) => c.container !== null || holdsProcesses(cgroupRoot, c.path));
    const ids = new Set(found.map((c) => c.id));
    if (ids.size > MAX_CGROUPS) {
      throw new UnsupportedTargetError(`the target's pods span ${ids.size} cgroups on node ${node}; one capture filters at most ${MAX_CGROUPS} in the kernel: narrow the target`);
    }
    kernel.cgroupIds.push(...ids);
    podNames = new CgroupNames(found);
  } else if (scope.cgroup) {
    kernel.cgroupIds.push(cgroupIdOf(cgroupRoot, scope.cgroup));
  }
  if (scope.pid) {
    if (!existsSync(`/proc/${scope.pid}`)) throw new UnsupportedTargetError(`pid ${scope.pid} is not running on node ${node}`);
    kernel.pid = scope.pid;
  }
  return { scope: kernel, podNames };
}

function holdsProcesses(root: string, path: string): boolean {
  try {
    return readFileSync(`${root}${path}/cgroup.procs`, 'utf8').trim() !== '';
  } catch {
    return false;
  }
}
