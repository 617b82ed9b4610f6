import { z } from 'zod';
import { durationMs, formatDurationMs } from '../duration.ts';
import { ValidationError } from '../errors.ts';
import { summarizeCpuProfile } from '../findings/cpu-profile.ts';
import { summarizeSyscallErrors } from '../findings/syscall-errors.ts';
import { definePlaybook, type Playbook } from './playbook.ts';

// Bounds match the tools' own limits (bpf/<tool>/manifest.ts), so a valid request never meets a refusing agent.
const SyscountDuration = durationMs({ min: 1000, max: 120_000 });
const ProfileDuration = durationMs({ min: 1000, max: 60_000 });

const enospc = definePlaybook({
  name: 'enospc',
  title: 'Who gets ENOSPC, and from which syscall',
  description:
    'Counts syscalls failing with ENOSPC (No space left on device) by syscall, process and cgroup, filtered in the kernel to the target.',
  symptoms: [/\benospc\b/i, /no space left/i, /disk (is )?full/i, /mount-max/i],
  params: z.object({ duration: SyscountDuration.default(10_000) }).strict(),
  steps: [
    {
      id: 'errors',
      tool: 'syscount',
      title: 'Failing syscalls (ENOSPC)',
      durationMs: (p) => p.duration,
      toolParams: () => ({ errno: 'ENOSPC' }),
    },
  ],
  summarize: ({ steps, params }) =>
    summarizeSyscallErrors({ steps, stepId: 'errors', errno: 'ENOSPC', durationText: formatDurationMs(params.duration) }),
});

const cpuProfile = definePlaybook({
  name: 'cpu-profile',
  title: 'Where the CPU time goes',
  description: 'Samples kernel and user stacks at a fixed rate, filtered in the kernel to the target; folded stacks and top functions.',
  symptoms: [/\bprofile\b/i, /\bcpu\b/i, /\bhot\b/i, /flame ?graph/i, /\bslow\b/i],
  params: z
    .object({
      duration: ProfileDuration.default(10_000),
      hz: z.number().int().min(1).max(999).default(99),
    })
    .strict(),
  steps: [
    {
      id: 'cpu',
      tool: 'profile',
      title: 'On-CPU stacks',
      durationMs: (p) => p.duration,
      toolParams: (p) => ({ hz: p.hz }),
    },
  ],
  summarize: ({ steps, params }) => summarizeCpuProfile({ steps, stepId: 'cpu', durationText: formatDurationMs(params.duration) }),
});

export const BUILTIN_PLAYBOOKS: readonly Playbook[] = [enospc, cpuProfile];

export function findPlaybook(name: string): Playbook | undefined {
  return BUILTIN_PLAYBOOKS.find((p) => p.name === name);
}

/** The playbook a request names, or the first whose symptoms match its free text. */
export function choosePlaybook(req: { playbook?: string; symptom?: string }): Playbook {
  if (req.playbook) {
    const p = findPlaybook(req.playbook);
    if (!p) {
      throw new ValidationError(`unknown playbook "${req.playbook}"`, [
        { path: 'playbook', message: `unknown playbook; known: ${BUILTIN_PLAYBOOKS.map((b) => b.name).join(', ')}` },
      ]);
    }
    return p;
  }
  const symptom = req.symptom ?? '';
  const p = BUILTIN_PLAYBOOKS.find((b) => b.symptoms.some((re) => re.test(symptom)));
  if (!p) {
    throw new ValidationError('no playbook matches the symptom', [
      { path: 'symptom', message: `no playbook matches; name one of: ${BUILTIN_PLAYBOOKS.map((b) => b.name).join(', ')}` },
    ]);
  }
  return p;
}

/** Validates request params against the playbook's schema; errors name each field under "params". */
export function parsePlaybookParams(p: Playbook, params: unknown): Record<string, unknown> {
  const r = p.params.safeParse(params ?? {});
  if (!r.success) {
    throw new ValidationError(
      `invalid parameters for playbook ${p.name}`,
      r.error.issues.map((i) => ({ path: ['params', ...i.path].join('.'), message: i.message })),
    );
  }
  return r.data as Record<string, unknown>;
}
