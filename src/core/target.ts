import { z } from 'zod';

// Kubernetes' DNS-1123 names, unanchored so that "namespace/name" is built from the two. A label (≤ 63): namespaces,
// container names. A subdomain (≤ 253; dots not checked further): node and pod names.
const DNS_LABEL_PART = '[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?';
const DNS_SUBDOMAIN_PART = '[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?';
export const DNS_LABEL = new RegExp(`^${DNS_LABEL_PART}$`);
export const DNS_SUBDOMAIN = new RegExp(`^${DNS_SUBDOMAIN_PART}$`);

/** Kubernetes-style node name; also what a plain host's agent calls itself. */
export const NodeName = z.string().regex(DNS_SUBDOMAIN, 'expected a DNS-1123 name such as "node-17"');

export const NamespaceName = z.string().regex(DNS_LABEL, 'expected a namespace name');

/** A pod's QoS class (status.qosClass): it decides where kubelet puts the pod's cgroup. */
export const QosClass = z.enum(['Guaranteed', 'Burstable', 'BestEffort']);
export type QosClass = z.infer<typeof QosClass>;

/** A cgroup path below the node's cgroup v2 root: "/kubepods/pod1234/ctr1". No "..", no empty segments. */
export const CgroupPath = z
  .string()
  .max(4096)
  .regex(/^(\/[A-Za-z0-9_.:@=+-]+)+$/, 'expected an absolute path below the cgroup v2 root such as "/kubepods/pod1/ctr1"')
  .refine((p) => !p.split('/').some((seg) => seg === '.' || seg === '..'), 'must not contain "." or ".." segments');

export const Target = z
  .object({
    node: NodeName.optional(),
    pod: z
      .string()
      .regex(new RegExp(`^${DNS_LABEL_PART}/${DNS_SUBDOMAIN_PART}$`), 'expected "namespace/name"')
      .optional(),
    labelSelector: z.string().min(1).max(1024).optional(),
    namespace: NamespaceName.optional(),
    cgroup: CgroupPath.optional(),
    pid: z.number().int().min(1).max(4_194_304).optional(),
  })
  .strict()
  .refine((t) => Object.values(t).some((v) => v !== undefined), 'give at least one of node, pod, labelSelector, namespace, cgroup, pid')
  .refine((t) => t.labelSelector === undefined || t.namespace !== undefined, {
    message: 'labelSelector needs a namespace',
    path: ['namespace'],
  });
export type Target = z.infer<typeof Target>;

/** A pod as the inventory found it: what an agent needs to find its cgroups and to name results after it. */
export const PodRef = z.object({
  namespace: z.string(),
  name: z.string(),
  uid: z.string(),
  qosClass: QosClass,
  containers: z.array(z.object({ name: z.string(), id: z.string().nullable() })),
});
export type PodRef = z.infer<typeof PodRef>;

/**
 * What a node agent scopes a capture to, after target resolution: pods on this node OR a cgroup path, optionally
 * narrowed to a pid. Never pods and a cgroup together: the agent would filter on their union, and a cgroup beside
 * the pods is a set no namespace check ever saw (a token limited to "shop" reaching "/victim").
 */
export const CaptureScope = z
  .object({
    cgroup: CgroupPath.optional(),
    /** Narrows: the kernel filter is "in the cgroup set AND this pid", never "or". */
    pid: z.number().int().min(1).optional(),
    /** Absent, not empty: an empty list would read as "no pod filter", i.e. the whole node. */
    pods: z.array(PodRef).min(1).max(32).optional(),
  })
  .strict()
  .refine((s) => s.cgroup === undefined || s.pods === undefined, {
    message: 'a capture is scoped to pods or to a cgroup, never both',
    path: ['cgroup'],
  });
export type CaptureScope = z.infer<typeof CaptureScope>;
