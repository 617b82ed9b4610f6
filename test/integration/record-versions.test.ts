import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newInvestigationId } from '../../src/core/ids.ts';
import type { Investigation } from '../../src/core/investigation.ts';
import { InvestigationRecords } from '../../src/records/investigation-records.ts';
import { createRedis } from '../../src/redis/connection.ts';
import { countingProxy, type CountingProxy } from '../helpers/counting-proxy.ts';
import { testRedisUrl, uniquePrefix } from '../helpers/services.ts';

/**
 * The orchestrator's run writes its record through `updateFrom` with the version it last wrote: one exchange with
 * Redis instead of reading back a record of thousands of steps first, and no write lost when another writer (late
 * artifacts, the reaper) changed the record meanwhile.
 */
describe('InvestigationRecords.updateFrom', () => {
  const prefix = uniquePrefix('versions');
  let proxy: CountingProxy;
  let redis: Redis;
  let other: Redis;
  let records: InvestigationRecords;
  let elsewhere: InvestigationRecords;
  const created = async (): Promise<Investigation> => {
    const inv: Investigation = { id: newInvestigationId(), status: 'running', playbook: 'enospc', params: {}, createdAt: new Date().toISOString(), requestedBy: 'token:test', steps: [], artifacts: [] };
    await elsewhere.create(inv);
    return inv;
  };

  beforeAll(async () => {
    proxy = await countingProxy(testRedisUrl());
    redis = createRedis(proxy.url);
    other = createRedis(testRedisUrl());
    records = new InvestigationRecords(redis, prefix);
    elsewhere = new InvestigationRecords(other, prefix);
    await redis.ping();
  });
  afterAll(async () => {
    await redis?.quit();
    await other?.quit();
    await proxy?.close();
  });

  it('writes on the version it knows in one exchange, and hands back the version written', async () => {
    const inv = await created();
    const first = await records.findVersion(inv.id);
    const before = proxy.sent();
    const written = await records.updateFrom(first, inv.id, (cur) => ({ ...cur, reason: 'one' }));
    const again = await records.updateFrom(written, inv.id, (cur) => ({ ...cur, note: 'two' }));
    expect(proxy.sent() - before).toBe(2);
    expect(again?.inv).toMatchObject({ reason: 'one', note: 'two' });
    expect(await elsewhere.find(inv.id)).toEqual(again?.inv);
    expect(await records.findVersion(inv.id)).toEqual(again);
  });

  it('applies the change to the current record when another writer changed it since', async () => {
    const inv = await created();
    const known = await records.findVersion(inv.id);
    await elsewhere.update(inv.id, (cur) => ({ ...cur, note: 'late artifacts merged' }));
    const written = await records.updateFrom(known, inv.id, (cur) => ({ ...cur, reason: 'collected' }));
    expect(written?.inv).toMatchObject({ note: 'late artifacts merged', reason: 'collected' });
    expect(await elsewhere.find(inv.id)).toMatchObject({ note: 'late artifacts merged', reason: 'collected' });
  });

  it('writes nothing when the change says so, or the record is gone', async () => {
    const inv = await created();
    const known = await records.findVersion(inv.id);
    expect(await records.updateFrom(known, inv.id, () => null)).toBeNull();
    await elsewhere.remove(inv.id);
    expect(await records.updateFrom(known, inv.id, (cur) => ({ ...cur, reason: 'x' }))).toBeNull();
    expect(await elsewhere.find(inv.id)).toBeNull();
  });
});
