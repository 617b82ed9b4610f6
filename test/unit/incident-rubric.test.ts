import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Investigation } from '../../src/core/investigation.ts';
import { INCIDENTS } from '../../bench/incidents/catalogue.ts';
import { IncidentName, type Culprit } from '../../bench/incidents/incident.ts';
import { RUBRIC } from '../../bench/incidents/rubric.ts';
import { score } from '../../bench/incidents/score.ts';
import { percentile } from '../../bench/incidents/table.ts';

/** The incident benchmark's scoring (bench/incidents/): a rubric line that could not fail would pass anything. */
const culprit: Culprit = { comms: ['th-filler'], pids: [4242], cgroup: '/tracehound-test-bench-disk-full-abc123', addresses: [] };
const inv = (over: Partial<Investigation> & { headline?: string; findings?: { severity: 'critical' | 'warning' | 'info'; title: string; detail?: string }[] }): Investigation =>
  ({
    id: 'inv_1',
    status: 'succeeded',
    playbook: 'enospc',
    params: {},
    createdAt: '',
    requestedBy: 'bench',
    steps: [],
    artifacts: [],
    summary: { headline: over.headline ?? '', findings: over.findings ?? [], notes: [] },
    ...over,
  }) as unknown as Investigation;

describe('incident rubric', () => {
  it('has an entry for every incident, at least 12, each runnable by a playbook that exists (or triage)', () => {
    expect(INCIDENTS.length).toBeGreaterThanOrEqual(12);
    expect(INCIDENTS.map((i) => i.name).sort()).toEqual([...IncidentName.options].sort());
    const playbooks = new Set(readdirSync('playbooks').filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, '')));
    for (const entry of Object.values(RUBRIC)) {
      expect(entry.playbooks).toContain('triage');
      expect(entry.playbooks.filter((p) => p !== 'triage' && !playbooks.has(p))).toEqual([]);
      expect(entry.noCritical ?? (entry.cause !== undefined && entry.culprit !== undefined)).toBe(true);
    }
  });

  it('passes an answer that names the cause and the culprit', () => {
    const r = score(RUBRIC['disk-full'], culprit, ['enospc'], inv({ headline: 'write(2) fails: /tmp/x (tmpfs) is full', findings: [{ severity: 'critical', title: 'th-filler (pid 4242) gets ENOSPC' }] }));
    expect(r).toEqual({ failed: [], routerFailed: false });
  });

  it('fails each line on its own: the playbook, the cause, the culprit, the status', () => {
    expect(score(RUBRIC['disk-full'], culprit, ['cpu-profile'], inv({ headline: 'disk is full', findings: [{ severity: 'critical', title: 'th-filler' }] }))).toEqual({
      failed: ['routed to cpu-profile, expected enospc or triage'],
      routerFailed: true,
    });
    expect(score(RUBRIC['disk-full'], culprit, ['enospc'], inv({ headline: 'writes fail', findings: [{ severity: 'critical', title: 'th-filler' }] })).failed).toEqual([
      'headline does not name the cause (the filesystem is full)',
    ]);
    // A comm inside a longer name, or a pid inside a longer number, does not name the culprit.
    expect(score(RUBRIC['disk-full'], culprit, ['enospc'], inv({ headline: 'disk is full', findings: [{ severity: 'critical', title: 'th-filler2 and pid 42421' }] })).failed).toEqual([
      expect.stringMatching(/^culprit not named \(any of: comm th-filler, pid 4242, cgroup \/tracehound-test-bench-disk-full-abc123\)$/),
    ]);
    expect(score(RUBRIC['disk-full'], culprit, ['enospc'], inv({ status: 'failed', reason: 'capture failed', headline: 'disk is full', findings: [{ severity: 'info', title: 'th-filler' }] })).failed).toEqual([
      'investigation failed: capture failed',
    ]);
  });

  it('counts a triage that chained into the specific playbook as routed right', () => {
    expect(score(RUBRIC['oom-kill'], { ...culprit, comms: ['th-memhog'] }, ['triage', 'oomkill'], inv({ playbook: 'oomkill', headline: 'OOM kill in /x', findings: [{ severity: 'critical', title: 'th-memhog killed' }] })).failed).toEqual([]);
  });

  it('fails the nothing-wrong case on any critical finding', () => {
    const quiet = { ...culprit, comms: [], pids: [] };
    expect(score(RUBRIC['nothing-wrong'], quiet, ['triage'], inv({ playbook: 'triage', headline: 'Nothing stands out', findings: [{ severity: 'info', title: 'run queue normal' }] })).failed).toEqual([]);
    expect(score(RUBRIC['nothing-wrong'], quiet, ['triage'], inv({ playbook: 'triage', headline: 'x', findings: [{ severity: 'critical', title: 'guessed cause' }] })).failed).toEqual([
      'critical finding on a healthy target: guessed cause',
    ]);
  });

  it('takes nearest-rank percentiles', () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
    expect(percentile([5, 1, 3, 2, 4], 95)).toBe(5);
    expect(percentile(Array.from({ length: 20 }, (_, i) => i + 1), 95)).toBe(19);
  });
});
