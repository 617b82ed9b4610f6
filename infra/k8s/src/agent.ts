import { Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { PriorityClass } from 'kubernetes-models/scheduling.k8s.io/v1';
import type { IContainer, IHostPathVolumeSource, IVolume, IVolumeMount } from 'kubernetes-models/v1';
import { envFrom } from './config.ts';
import { IMAGE } from './image.ts';
import { add } from './model.ts';
import { AGENT_PRIORITY_CLASS, COMMON_LABELS, NAMESPACE, PORTS, partName, selectorLabels } from './names.ts';
import {
  DATA_DIR_ENV,
  LISTEN_ANYWHERE,
  METRICS_ENV,
  METRICS_LIVENESS,
  METRICS_PORT,
  WRITABLE_MOUNTS,
  metricsAnnotations,
  writableVolumes,
} from './pod-parts.ts';

/**
 * One agent per node. It runs as root with a handful of capabilities instead of `privileged: true`: no device
 * access, no other capability, the runtime's masked /proc paths and read-only /sys kept. Measured on kernel 6.18
 * with bpftrace 0.17 (every tool's program loads with exactly this set), and against /proc of processes of another
 * user, which is what most pods run as.
 */
export const AGENT_CAPABILITIES = {
  // Load BPF programs and maps (Linux ≥ 5.8; before that SYS_ADMIN covers it).
  BPF: 'bpf() programs and maps',
  PERFMON: 'perf_event_open for kprobes, tracepoints and profile:hz; reading kernel memory from BPF',
  // bpftrace 0.17 fails to load its BTF type definitions without it; mounting tracefs where the host has not.
  SYS_ADMIN: 'bpftrace BTF loading, tracefs mount, /proc/<pid>/map_files',
  // Kernels before 5.11 charge BPF maps to RLIMIT_MEMLOCK, which bpftrace raises.
  SYS_RESOURCE: 'RLIMIT_MEMLOCK for BPF maps on kernels < 5.11',
  // /proc/<pid>/root, ns/* and fd links of other users' processes need ptrace read access (fd resolution of a
  // failing write, filesystem usage seen from the process's root, its user namespace's limits, user-stack symbols).
  SYS_PTRACE: 'ptrace read access to /proc/<pid>/{root,ns,fd,maps} of other users',
  // Those directories are mode 0500 and owned by the process's user: root without this cannot even list them.
  DAC_READ_SEARCH: 'traversing /proc/<pid>/fd and map_files, reading binaries through /proc/<pid>/root',
  // With kernel.perf_event_paranoid > 1 (Debian, Ubuntu) /proc/kallsyms shows zeros to anyone without it, and
  // bpftrace then prints kernel stacks as bare addresses.
  SYSLOG: 'kernel symbol addresses in /proc/kallsyms, for kstack',
} as const;

/** Host paths the agent reads (and tracefs, which funcgraph writes); everything else of the host stays out. */
const HOST_PATHS: { name: string; path: string; mountPath?: string; readOnly: boolean; type: IHostPathVolumeSource['type'] }[] = [
  // ftrace's tracer settings, written by funcgraph under its lock; bpftrace reads event formats here.
  { name: 'tracefs', path: '/sys/kernel/tracing', readOnly: false, type: 'Directory' },
  // The host's cgroup tree (the container's own is namespaced): pods' cgroups by kubelet's layout, their ids.
  { name: 'cgroup', path: '/sys/fs/cgroup', readOnly: true, type: 'Directory' },
  { name: 'btf', path: '/sys/kernel/btf', readOnly: true, type: 'Directory' },
  // Kernel headers, for bpftrace on kernels without BTF (/lib/modules/<release>/build links into /usr/src).
  { name: 'modules', path: '/lib/modules', readOnly: true, type: 'Directory' },
  { name: 'kernel-headers', path: '/usr/src', readOnly: true, type: 'Directory' },
  // funcgraph's lock keeps the ftrace state it changed (/run/tracehound-ftrace.lock): on the host, so an agent
  // replaced after dying mid-capture still finds it and writes that state back. Only this directory of /run.
  { name: 'ftrace-lock', path: '/run/tracehound', mountPath: '/run', readOnly: false, type: 'DirectoryOrCreate' },
];

const volumes: IVolume[] = [
  // The spool holds artifacts while object storage is down (AGENT_SPOOL_MAX, 256 MiB by default).
  ...writableVolumes('512Mi'),
  ...HOST_PATHS.map((h) => ({ name: h.name, hostPath: { path: h.path, type: h.type } })),
];
const volumeMounts: IVolumeMount[] = [
  ...WRITABLE_MOUNTS,
  ...HOST_PATHS.map((h) => ({ name: h.name, mountPath: h.mountPath ?? h.path, ...(h.readOnly ? { readOnly: true } : {}) })),
];

const agent: IContainer = {
  name: 'agent',
  image: IMAGE,
  args: ['agent'],
  ports: [METRICS_PORT],
  env: [
    // Each agent registers and consumes capture jobs under its node's name.
    { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
    // The agent resolves pods from the host's cgroups, never through the Kubernetes API (it has no token).
    { name: 'INVENTORY', value: 'none' },
    LISTEN_ANYWHERE,
    METRICS_ENV,
    DATA_DIR_ENV,
  ],
  envFrom: envFrom('agent'),
  volumeMounts,
  livenessProbe: METRICS_LIVENESS,
  // bpftrace compiles each program with LLVM in process (a few hundred MiB at peak) beside the agent itself.
  resources: { requests: { cpu: '50m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } },
  securityContext: {
    // BPF needs uid 0 (bpftrace refuses to start otherwise) as well as the capabilities.
    runAsUser: 0,
    runAsGroup: 0,
    runAsNonRoot: false,
    privileged: false,
    // no_new_privs: nothing exec'd can gain more than the agent already holds (no setuid, no file capabilities).
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'], add: Object.keys(AGENT_CAPABILITIES) },
    // The runtime's default seccomp profile allows bpf(), perf_event_open(), setns() and mount() to holders of
    // SYS_ADMIN (and BPF/PERFMON on current runtimes), so it can stay.
    seccompProfile: { type: 'RuntimeDefault' },
    // The runtime's default AppArmor profile denies mount, writes below /sys (tracefs) and ptrace reads of
    // processes outside the profile (every other pod's and the host's): the agent could see nothing with it.
    appArmorProfile: { type: 'Unconfined' },
  },
};

export class AgentChart extends Chart {
  constructor(scope: Construct) {
    super(scope, 'agent', { labels: COMMON_LABELS });
    add(
      this,
      new PriorityClass({
        metadata: { name: AGENT_PRIORITY_CLASS },
        // Above ordinary workloads (0), far below system-node-critical: an agent that cannot be scheduled on a full
        // node leaves that node uninvestigable, but it must never push out what the node exists for.
        value: 100_000,
        globalDefault: false,
        description: 'tracehound node agents: one per node, scheduled ahead of ordinary workloads',
      }),
    );
    add(
      this,
      new DaemonSet({
        metadata: { name: partName('agent'), namespace: NAMESPACE, labels: selectorLabels('agent') },
        spec: {
          selector: { matchLabels: selectorLabels('agent') },
          updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
          template: {
            metadata: { labels: selectorLabels('agent'), annotations: metricsAnnotations(PORTS.metrics.port) },
            spec: {
              serviceAccountName: partName('agent'),
              automountServiceAccountToken: false,
              // The host's processes: pids in requests and results are the host's, /proc/<pid> is theirs.
              hostPID: true,
              priorityClassName: AGENT_PRIORITY_CLASS,
              // Every node, tainted ones included: an incident does not pick an untainted node.
              tolerations: [{ operator: 'Exists' }],
              containers: [agent],
              volumes,
            },
          },
        },
      }),
    );
  }
}
