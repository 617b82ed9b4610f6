import { z } from 'zod';
import type { Programs } from '../../test/helpers/incidents/programs.ts';
import type { Teardown } from '../../test/helpers/incidents/teardown.ts';

export const IncidentName = z.enum([
  'disk-full', 'mount-max-leak', 'inotify-limit', 'fd-exhaustion', 'oom-kill', 'exec-storm', 'cpu-hog', 'cpu-throttling',
  'slow-disk', 'tcp-retransmits', 'connection-refused', 'connection-timeout', 'nothing-wrong',
]);
export type IncidentName = z.infer<typeof IncidentName>;

/** What names the culprit, as the incident knows it once it is running: the rubric says which of these count. */
export interface Culprit {
  comms: string[];
  pids: number[];
  /** The target cgroup (path below the v2 root). */
  cgroup: string;
  /** Peer addresses ("10.231.2.2", "127.0.0.1:5433"), for network incidents. */
  addresses: string[];
}

export interface RunningIncident {
  target: { cgroup: string };
  culprit(): Culprit;
  /** Checks the incident is happening now, from the kernel's own counters: null if it is, else what is missing. */
  check(): Promise<string | null>;
}

export interface Incident {
  name: IncidentName;
  /** The symptom as a person would type it: the only words the router gets. */
  symptom: string;
  /** Sets the incident up, registering every undo with `t` as it goes (the runner runs them, even on failure). */
  start(t: Teardown, programs: Programs): Promise<RunningIncident>;
}
