import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/audit-log.ts';
import { identity, type Identity } from '../../src/auth/identity.ts';
import { ForbiddenError, RateLimitedError, ServiceUnavailableError, UnsupportedTargetError, ValidationError } from '../../src/core/errors.ts';
import type { InvestigationRequest } from '../../src/core/investigation.ts';
import type { Playbook } from '../../src/playbooks/playbook.ts';
import { RequesterRateLimiter } from '../../src/intake/rate-limit.ts';
import { startInvestigation, type IntakeDeps } from '../../src/intake/start.ts';
import { createLogger } from '../../src/log.ts';
import { NotifyTargets } from '../../src/notify/targets.ts';
import { compilePlaybook } from '../../src/playbooks/compile.ts';
import { loadPlaybooks, toolCatalogue } from '../../src/playbooks/load.ts';
import { createRedis } from '../../src/redis/connection.ts';
import { InvestigationRecords } from '../../src/records/investigation-records.ts';
import { openQueue } from '../../src/queue/open.ts';
import { QUEUES } from '../../src/queue/queues.ts';
import { rejection } from '../helpers/rejection.ts';
import { testRedisUrl, uniquePrefix } from '../helpers/services.ts';

const writer = identity('token:writer', ['investigations:write']);
const reader = identity('token:reader', ['investigations:read']);
const shopOnly = identity('token:shop', ['investigations:write'], { namespaces: ['shop'] });
const ENOSPC: InvestigationRequest = { symptom: 'writes fail with No space left on device', target: { cgroup: '/my-app' }, params: { duration: '5s' } };

/**
 * startInvestigation, the one door every investigation comes through, step by step in the order its comment gives
 * (validate → authorize → rate-limit → record → enqueue → audit), against real Redis and BullMQ: each refusal
 * leaves nothing behind and spends nothing, and a start leaves the record, the job, the audit entry.
 */
describe('startInvestigation', () => {
  let redis: Redis;
  let playbooks: readonly Playbook[];
  const opened: { close(): Promise<unknown> }[] = [];

  beforeAll(async () => {
    redis = createRedis(testRedisUrl());
    playbooks = await loadPlaybooks();
  });
  afterAll(async () => {
    for (const q of opened) await q.close();
    await redis?.quit();
  });

  /** Intake on a prefix of its own, allowing `points` starts per requester, and what it leaves behind. */
  const intake = (points = 1, over: Partial<IntakeDeps> = {}) => {
    const prefix = uniquePrefix('intake');
    const investigations = openQueue(QUEUES.investigations, { connection: redis, prefix });
    opened.push(investigations);
    const deps: IntakeDeps = {
      playbooks,
      inventory: null,
      records: new InvestigationRecords(redis, prefix),
      investigations,
      audit: new AuditLog(redis, prefix, createLogger('silent')),
      notifyTargets: new NotifyTargets(redis, prefix),
      limiter: new RequesterRateLimiter(redis, prefix, { points, windowMs: 60_000 }),
      limits: { maxDurationMs: 60_000, maxHz: 999 },
      log: createLogger('silent'),
      ...over,
    };
    const leftBehind = async () => ({
      records: (await deps.records.list({ limit: 10 })).items.map((i) => i.id),
      jobs: await investigations.getJobCountByTypes('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'),
      audit: (await deps.audit.list({ limit: 10 })).items.map((e) => `${e.action} ${e.subject}`),
    });
    return { deps, leftBehind };
  };
  const nothing = { records: [], jobs: 0, audit: [] };
  const start = (deps: IntakeDeps, who: Identity, req: InvestigationRequest) => startInvestigation(deps, who, req);

  it('1. validation: a bad request is refused naming the field, before anything is recorded or spent', async () => {
    const { deps, leftBehind } = intake(1);
    const over = await rejection(start(deps, writer, { ...ENOSPC, params: { duration: '90s' } }));
    expect(over).toBeInstanceOf(ValidationError);
    expect((over as ValidationError).errors).toEqual([{ path: 'params.duration', message: 'at most 1m on this server' }]);
    const noTarget = await rejection(start(deps, writer, { playbook: 'enospc', params: {} }));
    expect((noTarget as ValidationError).errors.map((e) => e.path)).toEqual(['target']);
    const both = await rejection(start(deps, writer, { playbook: 'enospc', target: { namespace: 'shop', cgroup: '/x' }, params: {} }));
    expect((both as ValidationError).errors.map((e) => e.path)).toEqual(['target.cgroup']);
    expect(await leftBehind()).toEqual(nothing);
    // The one start the budget allows is still there.
    await start(deps, writer, ENOSPC);
  });

  it('2. authorization: a refused identity is refused before the rate limit is spent', async () => {
    const { deps, leftBehind } = intake(1);
    const cpuOnly = identity('token:cpu-only', ['investigations:write'], { playbooks: ['cpu-profile'] });
    expect(await rejection(start(deps, reader, ENOSPC))).toBeInstanceOf(ForbiddenError);
    const playbook = await rejection(start(deps, cpuOnly, ENOSPC));
    expect(playbook).toBeInstanceOf(ForbiddenError);
    expect((playbook as ForbiddenError).errors.map((e) => e.path)).toEqual(['playbook']);
    const cgroup = await rejection(start(deps, shopOnly, ENOSPC));
    expect(cgroup).toBeInstanceOf(ForbiddenError);
    expect((cgroup as ForbiddenError).errors.map((e) => e.path)).toEqual(['target.cgroup']);
    // Pods where no Kubernetes inventory is configured: refused too, still before the budget.
    expect(await rejection(start(deps, shopOnly, { playbook: 'enospc', target: { namespace: 'shop' }, params: {} }))).toBeInstanceOf(UnsupportedTargetError);
    expect(await leftBehind()).toEqual(nothing);
    // None of the budget went on the refusals: the one start it allows still goes through.
    expect((await start(deps, cpuOnly, { playbook: 'cpu-profile', target: { pid: 4242 }, params: {} })).status).toBe('queued');
  });

  it('3. rate limit: past its budget a requester is refused with when to retry, and nothing is recorded', async () => {
    const { deps, leftBehind } = intake(2);
    const first = await start(deps, writer, ENOSPC);
    const second = await start(deps, writer, ENOSPC);
    const third = await rejection(start(deps, writer, ENOSPC));
    expect(third).toBeInstanceOf(RateLimitedError);
    expect((third as RateLimitedError).message).toMatch(/^token:writer started 2 investigations in the last 60 s; retry in \d+ s$/);
    expect((await leftBehind()).records.sort()).toEqual([first.id, second.id].sort());
    // Another requester is not held back by the first one's budget.
    expect((await start(deps, identity('token:other', ['investigations:write']), ENOSPC)).status).toBe('queued');
    // Without a limiter (schedules) there is no budget to spend.
    const unlimited = intake(1, { limiter: null });
    for (let i = 0; i < 3; i++) await start(unlimited.deps, writer, ENOSPC);
    expect((await unlimited.leftBehind()).records).toHaveLength(3);
  });

  it('4. playbook selection: a symptom picks the playbook and says why, one matching nothing runs triage, one without words is refused', async () => {
    // A stand-in triage playbook, so this does not depend on playbooks/triage.yaml: routing picks triage by name.
    const triage = compilePlaybook('name: triage\ntitle: t\ndescription: d\nsteps: [{ id: errors, tool: syscount, title: Failing syscalls }]\n', 'test:triage', toolCatalogue());
    const { deps, leftBehind } = intake(5, { playbooks: [...playbooks.filter((p) => p.name !== 'triage'), triage] });
    const enospc = await start(deps, writer, ENOSPC);
    expect(enospc).toMatchObject({ playbook: 'enospc', routing: { playbook: 'enospc', confident: true, why: expect.stringContaining('no space left') } });
    expect((await deps.records.find(enospc.id))?.routing).toEqual(enospc.routing);
    expect((await start(deps, writer, { symptom: 'where does the CPU go', target: { pid: 4242 }, params: {} })).playbook).toBe('cpu-profile');
    const named = await start(deps, writer, { playbook: 'runqlat', symptom: 'writes fail with ENOSPC', target: { pid: 1 }, params: {} });
    expect(named.routing).toEqual({ playbook: 'runqlat', score: 1, confident: true, why: 'named', alternatives: [] });
    const unmatched = await start(deps, writer, { symptom: 'the printer is on fire', target: { pid: 1 }, params: {} });
    expect(unmatched).toMatchObject({ playbook: 'triage', routing: { playbook: 'triage', confident: false } });
    const wordless = await rejection(start(deps, writer, { symptom: ' ?! ', target: { pid: 1 }, params: {} }));
    expect(wordless).toBeInstanceOf(ValidationError);
    expect((wordless as ValidationError).errors.map((e) => e.path)).toEqual(['symptom']);
    expect((await leftBehind()).records).toHaveLength(4);
  });

  it('5. record, enqueue, audit: a start leaves the queued record, its job, its notify targets and the audit entry', async () => {
    const { deps, leftBehind } = intake(1);
    const notify = [{ kind: 'slack-webhook' as const, url: 'https://hooks.example.test/T0/B0/x', when: 'always' as const }];
    const inv = await startInvestigation(deps, writer, ENOSPC, { notify, schedule: 'nightly', detail: { via: 'test' } });

    expect(inv).toMatchObject({ status: 'queued', playbook: 'enospc', symptom: ENOSPC.symptom, target: ENOSPC.target, requestedBy: 'token:writer', schedule: 'nightly', steps: [], artifacts: [] });
    expect(await deps.records.find(inv.id)).toEqual(inv);
    const job = await deps.investigations.getJob(inv.id);
    expect(job?.data).toEqual({ id: inv.id });
    expect(await deps.notifyTargets.list(inv.id)).toEqual(notify);
    const [entry] = (await deps.audit.list({ limit: 10 })).items;
    expect(entry).toMatchObject({ actor: 'token:writer', action: 'investigation.start', subject: inv.id, detail: { playbook: 'enospc', target: ENOSPC.target, via: 'test' } });
    expect(await leftBehind()).toEqual({ records: [inv.id], jobs: 1, audit: [`investigation.start ${inv.id}`] });
  });

  it('5b. a job that cannot be queued takes its record back with it, and says to try again', async () => {
    const dead = createRedis(testRedisUrl());
    const unreachable = openQueue(QUEUES.investigations, { connection: dead, prefix: uniquePrefix('intake-dead') });
    await unreachable.waitUntilReady();
    await dead.quit();
    const { deps } = intake(1, { investigations: unreachable });
    const err = await rejection(start(deps, writer, ENOSPC));
    expect(err).toBeInstanceOf(ServiceUnavailableError);
    expect((await deps.records.list({ limit: 10 })).items).toEqual([]);
    expect((await deps.audit.list({ limit: 10 })).items).toEqual([]);
  });
});

