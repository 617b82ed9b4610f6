import { connectionRefused } from './cases/connection-refused.ts';
import { connectionTimeout } from './cases/connection-timeout.ts';
import { cpuHog } from './cases/cpu-hog.ts';
import { cpuThrottling } from './cases/cpu-throttling.ts';
import { diskFull } from './cases/disk-full.ts';
import { execStorm } from './cases/exec-storm.ts';
import { fdExhaustion } from './cases/fd-exhaustion.ts';
import { inotifyLimit } from './cases/inotify-limit.ts';
import { mountMaxLeak } from './cases/mount-max-leak.ts';
import { nothingWrong } from './cases/nothing-wrong.ts';
import { oomKill } from './cases/oom-kill.ts';
import { slowDisk } from './cases/slow-disk.ts';
import { tcpRetransmits } from './cases/tcp-retransmits.ts';
import type { Incident } from './incident.ts';

/** Every incident, in the order the benchmark runs them. */
export const INCIDENTS: readonly Incident[] = [
  diskFull, mountMaxLeak, inotifyLimit, fdExhaustion, oomKill, execStorm, cpuHog, cpuThrottling, slowDisk, tcpRetransmits,
  connectionRefused, connectionTimeout, nothingWrong,
];
