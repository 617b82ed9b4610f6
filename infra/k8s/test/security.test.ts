import type { IDaemonSet } from 'kubernetes-models/apps/v1';
import { describe, expect, it } from 'vitest';
import { HTTP_PATHS, partName } from '../src/names.ts';
import { baseDocs, containersOf, find, workloads, type Doc } from './base-docs.ts';

/**
 * The agent's capabilities, each for a reason (infra/k8s/src/agent.ts says which calls need it). A capability added
 * to the manifest without being added here, with its reason, fails.
 */
const AGENT_CAPABILITIES = ['BPF', 'PERFMON', 'SYS_ADMIN', 'SYS_RESOURCE', 'SYS_PTRACE', 'DAC_READ_SEARCH', 'SYSLOG'];

describe('pod security', () => {
  const docs = baseDocs();
  const agent = find<IDaemonSet & Doc>(docs, 'DaemonSet', partName('agent'));
  const agentPod = agent.spec!.template.spec!;
  const [agentContainer] = agentPod.containers;

  it('the agent sees the host processes, as root, but is not privileged', () => {
    expect(agentPod.hostPID).toBe(true);
    expect(agentPod.hostNetwork ?? false).toBe(false);
    expect(agentPod.hostIPC ?? false).toBe(false);
    expect(agentPod.automountServiceAccountToken).toBe(false);
    expect(agentPod.containers).toHaveLength(1);
    expect(agentContainer?.securityContext?.privileged).toBe(false);
    expect(agentContainer?.securityContext?.runAsUser).toBe(0);
  });

  it('the agent drops every capability but exactly the ones BPF needs', () => {
    const caps = agentContainer?.securityContext?.capabilities;
    expect(caps?.drop).toEqual(['ALL']);
    expect([...(caps?.add ?? [])].sort()).toEqual([...AGENT_CAPABILITIES].sort());
  });

  it('host paths are the kernel interfaces the agent reads, read-only but tracefs and the ftrace lock', () => {
    const hostVolumes = new Map((agentPod.volumes ?? []).filter((v) => v.hostPath).map((v) => [v.name, v.hostPath!.path]));
    const writable = (agentContainer?.volumeMounts ?? []).filter((m) => hostVolumes.has(m.name) && !m.readOnly).map((m) => hostVolumes.get(m.name));
    expect(writable.sort()).toEqual(['/run/tracehound', '/sys/kernel/tracing']);
    expect([...hostVolumes.values()]).not.toContain('/');
    expect([...hostVolumes.values()]).not.toContain('/sys');
    expect([...hostVolumes.values()]).not.toContain('/proc');
  });

  const controlPlane = workloads(docs).filter((w) => w.kind === 'Deployment');

  it('covers the API and the orchestrator', () => {
    expect(controlPlane.map((w) => w.metadata.name).sort()).toEqual([partName('api'), partName('orchestrator')]);
  });

  it.each(controlPlane.map((w) => [w.metadata.name, w] as const))('%s meets Pod Security "restricted"', (_name, w) => {
    const pod = w.spec!.template.spec!;
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
    expect(pod.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
    expect(pod.hostPID ?? false).toBe(false);
    expect((pod.volumes ?? []).filter((v) => v.hostPath)).toEqual([]);
    for (const c of containersOf(w)) {
      expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      expect(c.securityContext?.capabilities?.add ?? []).toEqual([]);
      expect(c.securityContext?.privileged ?? false).toBe(false);
    }
  });

  it('the API is probed on /healthz (liveness) and /readyz (readiness)', () => {
    const [api] = containersOf(find(docs, 'Deployment', partName('api')) as never);
    expect(api?.livenessProbe?.httpGet?.path).toBe(HTTP_PATHS.live);
    expect(api?.readinessProbe?.httpGet?.path).toBe(HTTP_PATHS.ready);
  });

  it.each(workloads(docs).flatMap((w) => containersOf(w).map((c) => [`${w.metadata.name}/${c.name}`, c] as const)))(
    '%s has requests and limits for CPU and memory, and a liveness probe',
    (_name, c) => {
      for (const kind of ['requests', 'limits'] as const) {
        expect(Object.keys(c.resources?.[kind] ?? {}).sort(), kind).toEqual(['cpu', 'memory']);
      }
      expect(c.livenessProbe?.httpGet?.path).toMatch(/^\//);
    },
  );
});
