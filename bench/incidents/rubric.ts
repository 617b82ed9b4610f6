import type { IncidentName } from './incident.ts';

/**
 * What a correct answer to each incident looks like, written from the incidents alone (never from the playbooks, so
 * a playbook cannot pass by matching its own wording): which playbooks may answer it (the one for that kind of
 * problem, or triage), what the headline must say to name the cause, and what must be named as the culprit
 * somewhere in the headline or the findings. `noCritical` is the nothing-wrong case: any critical finding fails it.
 */
export type CulpritKind = 'comm' | 'pid' | 'cgroup' | 'address';

export interface RubricEntry {
  playbooks: string[];
  /** The headline names the cause. */
  cause?: { pattern: RegExp; says: string };
  /** At least one identifier of these kinds appears in the headline or a finding. */
  culprit?: CulpritKind[];
  noCritical?: true;
}

export const RUBRIC: Record<IncidentName, RubricEntry> = {
  'disk-full': {
    playbooks: ['enospc', 'triage'],
    cause: { pattern: /\bfull\b|no space left|out of (disk )?space|\b100% used\b/i, says: 'the filesystem is full' },
    culprit: ['comm', 'pid', 'cgroup'],
  },
  'mount-max-leak': {
    playbooks: ['enospc', 'triage'],
    cause: { pattern: /mount.*(mount-max|limit|too many)|(mount-max|limit).*mount/i, says: 'mounts reach the fs.mount-max limit' },
    culprit: ['pid', 'cgroup'],
  },
  'inotify-limit': {
    playbooks: ['enospc', 'triage'],
    cause: { pattern: /inotify|max_user_watches|file watch(es|ers)? limit/i, says: 'the inotify watch limit is reached' },
    culprit: ['comm', 'pid', 'cgroup'],
  },
  'fd-exhaustion': {
    playbooks: ['file-errors', 'triage'],
    cause: { pattern: /EMFILE|too many open files|(file )?descriptor(s)? (limit|exhaust)|RLIMIT_NOFILE|nofile/i, says: 'the process ran out of file descriptors (EMFILE)' },
    culprit: ['comm', 'pid'],
  },
  'oom-kill': {
    playbooks: ['oomkill', 'triage'],
    cause: { pattern: /\bOOM\b|out of memory|memory (limit|cgroup)/i, says: 'processes are OOM-killed at the memory limit' },
    culprit: ['comm', 'pid', 'cgroup'],
  },
  'exec-storm': {
    playbooks: ['exec-storm', 'triage'],
    cause: { pattern: /\bexec|fork|short-lived|process(es)? (creation|storm)/i, says: 'a storm of short-lived processes' },
    culprit: ['comm', 'pid', 'cgroup'],
  },
  'cpu-hog': {
    playbooks: ['cpu-profile', 'triage'],
    cause: { pattern: /crunch_alpha/, says: 'the hot function, crunch_alpha' },
    culprit: ['comm', 'pid', 'cgroup'],
  },
  'cpu-throttling': {
    // cpu-throttling is the playbook made for this cause (it reads the quota's own counters); runqlat and triage
    // may answer it too.
    playbooks: ['cpu-throttling', 'runqlat', 'triage'],
    cause: { pattern: /throttl|cpu quota|cfs.?quota|cpu\.max/i, says: 'the cgroup is throttled by its CPU quota' },
    culprit: ['cgroup', 'comm'],
  },
  'slow-disk': {
    playbooks: ['io-latency', 'triage'],
    cause: { pattern: /(slow|latency|\d+ ms).*(I\/O|disk|read|block|loop\d)|(I\/O|disk|read|block|loop\d).*(slow|latency|\d+ ms)/i, says: 'block reads are slow' },
    culprit: ['comm', 'pid', 'cgroup', 'address'],
  },
  'tcp-retransmits': {
    playbooks: ['tcp-retrans', 'triage'],
    cause: { pattern: /retransmi/i, says: 'TCP retransmits' },
    culprit: ['comm', 'pid', 'address'],
  },
  'connection-refused': {
    playbooks: ['connections', 'triage'],
    cause: { pattern: /refused|ECONNREFUSED|nothing (is )?listen|\bRST\b|reset/i, says: 'connections are refused' },
    culprit: ['comm', 'pid', 'address'],
  },
  'connection-timeout': {
    playbooks: ['connections', 'triage'],
    cause: { pattern: /time[sd]?[ -]?out|ETIMEDOUT|unanswered|no (answer|reply)|SYN|backlog|accept queue|listen (overflow|drop)/i, says: 'connections time out (SYNs unanswered)' },
    culprit: ['comm', 'pid', 'address'],
  },
  'nothing-wrong': {
    playbooks: ['triage', 'health-sweep'],
    noCritical: true,
  },
};
