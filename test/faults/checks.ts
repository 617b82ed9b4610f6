import { expect } from 'vitest';
import { isTerminal, type Investigation } from '../../src/core/investigation.ts';
import type { HookServer } from '../helpers/hook-server.ts';
import { deadlineOf, tracefsState, type Rig } from '../helpers/parts.ts';
import { describeSteps } from '../helpers/steps.ts';

/**
 * What every fault test asserts about the investigation it hit, whatever the fault: it ended by its deadline, no
 * capture process outlived its box, no step was recorded twice, and every capture is either stored or its loss is
 * stated in words.
 */

/** Low-level failure words a person should never be handed as the reason a capture was lost. */
export const RAW_ERROR = /\bE(CONN[A-Z]+|TIMEDOUT|PIPE|HOSTUNREACH|NETUNREACH|NOTFOUND|AI_AGAIN|ADDRINUSE)\b|socket hang up|TimeoutError|AbortError|agent error:/;

/** A terminal record with a step still "running" tells its reader something that is not happening. */
export function expectNoStepLeftRunning(inv: Investigation): void {
  expect(isTerminal(inv.status)).toBe(true);
  expect(inv.steps.filter((s) => s.status === 'running' || s.status === 'pending').map((s) => `${s.id}@${s.node}`), describeSteps(inv.steps)).toEqual([]);
}

export function expectEndedByDeadline(inv: Investigation): void {
  expect(inv.finishedAt, `${inv.id} has no finishedAt`).toBeTruthy();
  const { at, fromRecord } = deadlineOf(inv);
  const finished = Date.parse(inv.finishedAt!);
  expect(finished, `${inv.id} ended ${finished - at} ms after its ${fromRecord ? 'deadline' : 'fallback bound'} (${new Date(at).toISOString()})`).toBeLessThanOrEqual(at);
}

/** One entry per step id and node: a re-run after a crash must not record a step again. */
export function expectNoDuplicateSteps(inv: Investigation): void {
  const keys = inv.steps.map((s) => `${s.id}@${s.node ?? '-'}`);
  expect(keys, JSON.stringify(inv.steps, null, 1).slice(0, 2000)).toEqual([...new Set(keys)]);
}

/** Capture steps: those that ran (or were meant to run) on a node. */
const captureSteps = (inv: Investigation) => inv.steps.filter((s) => s.node !== null && s.status !== 'skipped');

/**
 * Every capture either has its artifacts listed in the record and fetchable through the API, or its reason says in
 * words why it has none (never a raw errno).
 */
export async function expectCapturesAccountedFor(rig: Rig, inv: Investigation): Promise<void> {
  const listed = new Set(inv.artifacts.map((a) => a.name));
  for (const s of captureSteps(inv)) {
    const where = `step ${s.id} on ${s.node} (${s.status}${s.reason ? `: ${s.reason}` : ''})`;
    expect(s.reason ?? '', where).not.toMatch(RAW_ERROR);
    if (s.artifacts.length === 0) {
      expect(s.reason, `${where} stored nothing and does not say why`).toMatch(/\w{3,}.*\w{3,}/);
      continue;
    }
    for (const name of s.artifacts) {
      expect(listed.has(name), `${where}: ${name} not in the record's artifacts`).toBe(true);
      const res = await rig.get(`/v1/investigations/${inv.id}/artifacts/${name}`);
      expect(res.status, `${where}: GET ${name} → ${res.status} ${res.text.slice(0, 300)}`).toBe(200);
    }
  }
  expect(inv.reason ?? '').not.toMatch(RAW_ERROR);
}

/** No process the agent started for a capture lives on once the investigation ended (the agent waited for them). */
export async function expectNoCaptureSurvivors(rig: Rig, withinMs = 0): Promise<void> {
  const alive = await rig.captures.settle(withinMs);
  expect(alive.map((p) => `${p.pid} ${p.cmdline}`)).toEqual([]);
}

/** The artifacts a capture step of the rig's exec-storm investigation stores. */
export const captureArtifacts = (inv: Investigation, step = 'execs') => [`${step}/${inv.steps.find((s) => s.id === step)?.node}/raw.json`, `${step}/${inv.steps.find((s) => s.id === step)?.node}/result.json`];

/** Polls until the record lists `names` and the API serves each; returns how long it took. */
export async function waitForStoredArtifacts(rig: Rig, id: string, names: readonly string[], timeoutMs: number): Promise<{ inv: Investigation; ms: number }> {
  const t0 = Date.now();
  const inv = await rig.waitFor(id, (i) => names.every((n) => i.artifacts.some((a) => a.name === n)), timeoutMs);
  for (const n of names) {
    const res = await rig.get(`/v1/investigations/${id}/artifacts/${n}`);
    expect(res.status, `GET ${n} → ${res.status} ${res.text.slice(0, 300)}`).toBe(200);
  }
  return { inv, ms: Date.now() - t0 };
}

/** What reached the chat target at `path`: every attempt, those it accepted (2xx), and the final results among them. */
export function chatPosts(hook: HookServer, path: string) {
  const attempts = hook.received.filter((r) => r.path === path);
  const accepted = attempts.filter((r) => typeof r.answered === 'number' && r.answered < 300);
  // The result goes to the whole channel; progress only to the asker.
  const isFinal = (body: unknown) => (body as { response_type?: string } | null)?.response_type === 'in_channel';
  return {
    attempts,
    accepted,
    finalAttempts: attempts.filter((r) => isFinal(r.body)),
    finalsAccepted: accepted.filter((r) => isFinal(r.body)),
  };
}

/** No message shown twice: no accepted body repeats, at most one final result, and nothing after it. */
export function expectNoDuplicateMessages(hook: HookServer, path: string): void {
  const { accepted, finalsAccepted } = chatPosts(hook, path);
  const bodies = accepted.map((r) => JSON.stringify(r.body));
  expect(bodies.filter((b, i) => bodies.indexOf(b) !== i)).toEqual([]);
  expect(finalsAccepted.length).toBeLessThanOrEqual(1);
  const finalAt = finalsAccepted[0]?.at ?? Number.POSITIVE_INFINITY;
  expect(accepted.filter((r) => r.at > finalAt).map((r) => r.body)).toEqual([]);
}

/**
 * The invariants every fault must leave intact, checked on the record once it ended: by its deadline, no step left
 * running, none recorded twice, every capture stored or its loss stated, no capture process alive, tracefs as before.
 */
export async function expectInvariants(rig: Rig, inv: Investigation, tracefsBefore: Record<string, string>): Promise<void> {
  expectEndedByDeadline(inv);
  expectNoStepLeftRunning(inv);
  expectNoDuplicateSteps(inv);
  await expectCapturesAccountedFor(rig, inv);
  await expectNoCaptureSurvivors(rig);
  expect(tracefsState()).toEqual(tracefsBefore);
}
