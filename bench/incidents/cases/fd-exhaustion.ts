import { readFileSync } from 'node:fs';
import { createTestCgroup } from '../../../test/helpers/kernel.ts';
import type { Incident } from '../incident.ts';
import { fdCount, waitUntil } from '../procs.ts';

const LIMIT = 64;

/** A descriptor leak at RLIMIT_NOFILE: th-fdhog, started under `prlimit --nofile=64`, keeps getting EMFILE. */
export const fdExhaustion: Incident = {
  name: 'fd-exhaustion',
  symptom: 'the api pod logs "accept4: too many open files" and stops taking requests',
  async start(t, programs) {
    const cg = createTestCgroup('bench-fds');
    t.add(`remove ${cg.path}`, () => cg.remove());
    const hog = cg.spawn('prlimit', [`--nofile=${LIMIT}:${LIMIT}`, programs.path('th-fdhog')]); // prlimit execs the program
    return {
      target: { cgroup: cg.path },
      culprit: () => ({ comms: ['th-fdhog'], pids: [hog.pid!], cgroup: cg.path, addresses: [] }),
      check: () =>
        waitUntil(() => {
          const limits = readFileSync(`/proc/${hog.pid}/limits`, 'utf8');
          if (!new RegExp(`Max open files\\s+${LIMIT}\\s+${LIMIT}`).test(limits)) return `th-fdhog's open-files limit is not ${LIMIT}`;
          const n = fdCount(hog.pid!);
          // At least the limit: a descriptor inherited above it (node's spawn may pass one) counts too.
          return n >= LIMIT ? null : `th-fdhog holds ${n} descriptors, not yet its limit of ${LIMIT}`;
        }, 10_000),
    };
  },
};
