import { beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.ts';
import { newInvestigationId, InvestigationId } from '../../src/core/ids.ts';
import type { Playbook } from '../../src/playbooks/playbook.ts';
import { choosePlaybook as choose, parsePlaybookParams } from '../../src/playbooks/select.ts';
import { Target } from '../../src/core/target.ts';
import { loadPlaybooks } from '../../src/playbooks/load.ts';

let playbooks: Playbook[] = [];
beforeAll(async () => {
  playbooks = await loadPlaybooks();
});
const choosePlaybook = (req: { playbook?: string; symptom?: string }) => choose(playbooks, req);

describe('playbook choice', () => {
  it.each([
    ['mount fails with No space left on device on pod X', 'enospc'],
    ['ENOSPC on pod shop/cart-7d9f', 'enospc'],
    ['profile node-17 for 30s', 'cpu-profile'],
    ['why is node-17 hot?', 'cpu-profile'],
    ['nginx: open() "/etc/nginx/conf.d/x.conf" failed (2: No such file or directory)', 'file-errors'],
    ['accept4() failed (24: Too many open files)', 'file-errors'],
    ['Permission denied writing /var/log/app', 'file-errors'],
    ['getaddrinfo EAI_AGAIN redis.shop.svc', 'dns'],
    ['name resolution fails in namespace shop', 'dns'],
  ])('picks from the symptom "%s"', (symptom, name) => expect(choosePlaybook({ symptom }).name).toBe(name));

  it('prefers the named playbook over the symptom', () => {
    expect(choosePlaybook({ playbook: 'cpu-profile', symptom: 'ENOSPC' }).name).toBe('cpu-profile');
  });

  it('names the field when a symptom has no words, or a named playbook does not exist', () => {
    // A symptom matching nothing runs triage (test/unit/routing.test.ts); one without a word is no symptom.
    expect(() => choosePlaybook({ symptom: ' ?! ' })).toThrow(ValidationError);
    let refused: unknown;
    try {
      choosePlaybook({ playbook: 'nope' });
    } catch (e) {
      refused = e;
    }
    expect(refused).toBeInstanceOf(ValidationError);
    expect((refused as ValidationError).errors[0]).toMatchObject({ path: 'playbook', message: expect.stringContaining('enospc') });
  });

  it('applies defaults and bounds to parameters', () => {
    const p = choosePlaybook({ playbook: 'cpu-profile' });
    expect(parsePlaybookParams(p, {})).toEqual({ duration: 10_000, hz: 99 });
    expect(parsePlaybookParams(p, { duration: '30s', hz: 49 })).toEqual({ duration: 30_000, hz: 49 });
    try {
      parsePlaybookParams(p, { duration: '0s', hz: 1.5, extra: 1 });
      expect.unreachable();
    } catch (e) {
      expect((e as ValidationError).errors.map((x) => x.path).sort()).toEqual(['params', 'params.duration', 'params.hz']);
    }
  });
});

describe('targets and ids', () => {
  it('accepts cgroup paths below the root and refuses climbing or odd characters', () => {
    expect(Target.safeParse({ cgroup: '/kubepods/pod1234/ctr1' }).success).toBe(true);
    expect(Target.safeParse({ cgroup: '/system.slice/cron.service' }).success).toBe(true);
    for (const cgroup of ['kubepods', '/a/../b', '/a//b', '/a/./b', '/a b', '/$(id)', '/a\nb', '/']) {
      expect(Target.safeParse({ cgroup }).success, cgroup).toBe(false);
    }
  });

  it('needs a namespace with a label selector', () => {
    const r = Target.safeParse({ labelSelector: 'app=cart' });
    expect(r.error?.issues[0]?.path).toEqual(['namespace']);
  });

  it('makes ids that sort by creation time', () => {
    const a = newInvestigationId(1_700_000_000_000);
    const b = newInvestigationId(1_700_000_000_001);
    const c = newInvestigationId(1_800_000_000_000);
    expect([c, a, b].sort()).toEqual([a, b, c]);
    for (const id of [a, b, c]) expect(InvestigationId.safeParse(id).success).toBe(true);
    expect(new Set(Array.from({ length: 1000 }, () => newInvestigationId(0))).size).toBe(1000);
  });
});
