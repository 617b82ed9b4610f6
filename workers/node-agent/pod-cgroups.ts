import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { resolve, sep } from 'node:path';
import { z } from 'zod';
import { UnsupportedTargetError } from '../../src/core/errors.ts';
import { DNS_LABEL, DNS_SUBDOMAIN, NamespaceName, PodRef, QosClass } from '../../src/core/target.ts';

/**
 * Where kubelet puts a pod's cgroups on cgroup v2, so a capture can filter on the pod's leaf cgroup ids.
 *
 * Layout, as kubelet builds it (kubernetes pkg/kubelet/cm):
 * - node_container_manager_linux.go: `defaultNodeAllocatableCgroupName = "kubepods"` is the root of all pods.
 * - qos_container_manager_linux.go `Start`: Burstable and BestEffort get `NewCgroupName(root, "burstable"|"besteffort")`;
 *   Guaranteed pods sit directly in the root (`QOSContainersInfo{Guaranteed: rootContainer, ...}`).
 * - pod_container_manager_linux.go `GetPodContainerName`: the pod cgroup is `NewCgroupName(qosParent, "pod"+uid)`.
 * - cgroup_manager_linux.go: `ToCgroupfs` joins the parts with "/" (`/kubepods/burstable/pod<uid>`); `ToSystemd`
 *   replaces "-" by "_" in each part (`escapeSystemdCgroupName`), joins them with "-" and expands the slice
 *   (`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice`).
 * Container cgroups below the pod cgroup are named by the runtime:
 * - containerd (internal/cri/server/podsandbox/helpers_linux.go `getCgroupsPath`): with a ".slice" parent it hands runc
 *   "slice:cri-containerd:<id>", which runc's systemd driver (`getUnitName`: prefix + "-" + name + ".scope") turns into
 *   `cri-containerd-<id>.scope`; otherwise `<parent>/<id>`.
 * - CRI-O (internal/config/cgmgr): systemd `crio-<id>.scope`, cgroupfs `crio-<id>`; conmon gets `crio-conmon-<id>.scope`.
 * - docker (dockershim/cri-dockerd): `docker-<id>.scope` with systemd, `<id>` with cgroupfs.
 * - crun on cgroup v2 with systemd moves the container's processes one level further down, into `<scope>/container`
 *   (run.oci.systemd.subgroup), which is why every descendant is listed, not only direct children.
 * This assumes kubelet's default --cgroup-root ("/"); with another one, pass the cgroup below which kubepods lives.
 */
export type CgroupDriver = 'systemd' | 'cgroupfs';

/**
 * Kubernetes pod uids are RFC 4122 UUIDs; static pods (manifest files) get a 32-hex md5 instead
 * (pkg/kubelet/config/common.go `applyDefaults`), which is also the mirror pod's kubernetes.io/config.mirror annotation.
 */
const POD_UID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/;
/** status.containerStatuses[].containerID: "<runtime>://<64 hex>" (containerd, cri-o and docker all use 64 hex). */
const CONTAINER_ID = /^([a-z0-9][a-z0-9+.-]{0,31}):\/\/([0-9a-f]{64})$/;
/** A child of a pod cgroup named after a container id, in any runtime's spelling (see above). */
const CONTAINER_DIR = /^(?:(?:cri-containerd|crio|docker)-)?([0-9a-f]{64})(?:\.scope)?$/;

/**
 * A pod as the API server describes it (PodRef), with every string that reaches a path checked here first. Not
 * strict about extra keys (callers pass richer pod summaries); they are dropped, never used.
 */
const CheckedPodRef = PodRef.extend({
  namespace: NamespaceName,
  name: z.string().regex(DNS_SUBDOMAIN, 'expected a pod name'),
  uid: z.string().regex(POD_UID, 'expected a pod uid (UUID, or 32 hex for a static pod)'),
  containers: z
    .array(
      z.object({
        name: z.string().regex(DNS_LABEL, 'expected a container name'),
        // null until the runtime created the container
        id: z.string().regex(CONTAINER_ID, 'expected "<runtime>://<64 hex>"').nullable(),
      }),
    )
    .max(1000),
});

export interface ResolvedCgroup {
  /** Below the cgroup root, with a leading "/", as a capture's target cgroup. */
  path: string;
  /** cgroup v2 id = the directory's inode, what bpftrace's `cgroup` builtin reports. */
  id: number;
  /** "namespace/name". */
  pod: string;
  /** The container's name; null for the pod cgroup itself and for cgroups no listed container owns (the sandbox). */
  container: string | null;
}

/** Bounds the walk below a pod cgroup: runtimes nest one or two levels; anything deeper is not kubelet's doing. */
const MAX_DEPTH = 4;
const MAX_ENTRIES = 1024;

/** The pod cgroup's path below the root, for a uid already checked against POD_UID. */
export function podCgroupPath(driver: CgroupDriver, qosClass: QosClass, uid: string): string {
  const tier = qosClass === 'Guaranteed' ? null : qosClass.toLowerCase();
  if (driver === 'cgroupfs') return tier ? `/kubepods/${tier}/pod${uid}` : `/kubepods/pod${uid}`;
  const escaped = uid.replaceAll('-', '_');
  return tier
    ? `/kubepods.slice/kubepods-${tier}.slice/kubepods-${tier}-pod${escaped}.slice`
    : `/kubepods.slice/kubepods-pod${escaped}.slice`;
}

function dirStat(abs: string): Stats | null {
  try {
    const st = lstatSync(abs);
    return st.isDirectory() ? st : null;
  } catch {
    return null; // gone, or never there: containers come and go while we look
  }
}

/** Absolute path of `rel` below `root`; refuses anything that would land outside it. */
function below(root: string, rel: string): string {
  const base = resolve(root);
  const abs = resolve(base, `.${rel}`);
  if (abs !== base && !abs.startsWith(base + sep)) throw new UnsupportedTargetError(`cgroup path escapes the cgroup root`);
  return abs;
}

function hasPodChild(root: string, qosDirs: string[]): boolean {
  return qosDirs.some((rel) => {
    try {
      return readdirSync(below(root, rel), { withFileTypes: true }).some((e) => e.isDirectory() && e.name.includes('pod'));
    } catch {
      return false;
    }
  });
}

/**
 * Which driver kubelet runs with, by which pods root exists. Both exist after a driver change (the old tree lingers
 * until reboot): the one holding pods wins, systemd if both or neither do.
 */
export function detectCgroupDriver(root: string): CgroupDriver | null {
  const systemd = dirStat(below(root, '/kubepods.slice')) !== null;
  const cgroupfs = dirStat(below(root, '/kubepods')) !== null;
  if (systemd && cgroupfs) {
    const cgroupfsPods = hasPodChild(root, ['/kubepods', '/kubepods/burstable', '/kubepods/besteffort']);
    const systemdPods = hasPodChild(root, ['/kubepods.slice', '/kubepods.slice/kubepods-burstable.slice', '/kubepods.slice/kubepods-besteffort.slice']);
    return cgroupfsPods && !systemdPods ? 'cgroupfs' : 'systemd';
  }
  if (systemd) return 'systemd';
  if (cgroupfs) return 'cgroupfs';
  return null;
}

/** The given driver only; else the detected one, then the other in case a driver change left pods in the old tree. */
function driversToTry(root: string, driver: CgroupDriver | undefined): CgroupDriver[] {
  if (driver) return [driver];
  const detected = detectCgroupDriver(root);
  if (!detected) return [];
  return [detected, detected === 'systemd' ? 'cgroupfs' : 'systemd'];
}

function parsePod(input: PodRef): { ref: PodRef; containerOf: Map<string, string> } {
  const parsed = CheckedPodRef.safeParse(input);
  if (!parsed.success) {
    const what = parsed.error.issues.map((i) => `${i.path.join('.') || 'pod'}: ${i.message}`).join('; ');
    throw new UnsupportedTargetError(`cannot resolve the pod's cgroups: ${what}`);
  }
  const containerOf = new Map<string, string>();
  for (const c of parsed.data.containers) {
    const hex = c.id === null ? null : CONTAINER_ID.exec(c.id)?.[2];
    if (!hex) continue;
    if (containerOf.has(hex)) throw new UnsupportedTargetError(`containers ${containerOf.get(hex)} and ${c.name} claim the same container id`);
    containerOf.set(hex, c.name);
  }
  return { ref: parsed.data, containerOf };
}

/**
 * The pod-level cgroup and every cgroup below it (container scopes, the sandbox, runtime sub-groups), pod cgroup first,
 * the rest sorted by path. A bpftrace filter compares the exact leaf id, so callers filter on all of them.
 * [] when the pod has no cgroup on this node (not scheduled here, gone, or not kubelet-managed).
 * The given QoS class is looked up first; the others are tried too, since a pod's uid is unique wherever it sits.
 */
export function podCgroups(root: string, pod: PodRef, driver?: CgroupDriver): ResolvedCgroup[] {
  const { ref, containerOf } = parsePod(pod);
  const podName = `${ref.namespace}/${ref.name}`;
  const classes = [ref.qosClass, ...QosClass.options.filter((q) => q !== ref.qosClass)];
  for (const d of driversToTry(root, driver)) {
    for (const q of classes) {
      const rel = podCgroupPath(d, q, ref.uid);
      const st = dirStat(below(root, rel));
      if (st) return collect(root, rel, st, podName, containerOf);
    }
  }
  return [];
}

function collect(root: string, podRel: string, podStat: Stats, pod: string, containerOf: Map<string, string>): ResolvedCgroup[] {
  const found: ResolvedCgroup[] = [];
  const walk = (rel: string, container: string | null, depth: number) => {
    if (depth > MAX_DEPTH) return;
    let entries;
    try {
      entries = readdirSync(below(root, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory() || found.length >= MAX_ENTRIES) continue;
      const childRel = `${rel}/${e.name}`;
      const st = dirStat(below(root, childRel));
      if (!st) continue;
      // Only the pod cgroup's direct children are named after containers; deeper ones belong to their ancestor.
      const owner = depth === 1 ? (containerOf.get(CONTAINER_DIR.exec(e.name)?.[1] ?? '') ?? null) : container;
      found.push({ path: childRel, id: st.ino, pod, container: owner });
      walk(childRel, owner, depth + 1);
    }
  };
  walk(podRel, null, 1);
  found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return [{ path: podRel, id: podStat.ino, pod, container: null }, ...found];
}

/** Translates the cgroup ids a capture reports back to pods and containers. */
export class CgroupNames {
  private readonly byId = new Map<number, { pod: string; container: string | null }>();

  constructor(entries: ResolvedCgroup[]) {
    for (const e of entries) if (!this.byId.has(e.id)) this.byId.set(e.id, { pod: e.pod, container: e.container });
  }

  nameOf(id: number): { pod: string; container: string | null } | null {
    return this.byId.get(id) ?? null;
  }
}
