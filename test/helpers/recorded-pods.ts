import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PodRef } from '../../src/core/target.ts';
import { FIXTURES } from './fake-kube-api.ts';

/**
 * A pod of namespace shop as its recorded API object (test/fixtures/k8s/pods/shop/NAME.json) describes it: read
 * from the same file the fake API server serves, so the cgroups built for it are those the inventory will name.
 */
export function recordedPod(name: string): PodRef {
  const o = JSON.parse(readFileSync(join(FIXTURES, 'pods', 'shop', `${name}.json`), 'utf8'));
  return {
    namespace: 'shop',
    name,
    uid: o.metadata.uid,
    qosClass: o.status.qosClass,
    containers: o.status.containerStatuses.map((c: { name: string; containerID: string }) => ({ name: c.name, id: c.containerID })),
  };
}

/**
 * Runs a shell script as a container's process would run: the shell moves itself into the cgroup directory `dir`
 * (a fake pod's container, fake-pod-cgroups.ts) before the script starts, so nothing of it runs outside.
 */
export function runInCgroupDir(dir: string, script: string): ChildProcess {
  return spawn('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec sh -c "$1"', dir, script], { stdio: 'ignore' });
}
