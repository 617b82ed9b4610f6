import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { ValidationError } from '../../src/core/errors.ts';
import { Routing, routingText } from '../../src/core/routing.ts';
import { compilePlaybook, PlaybookError } from '../../src/playbooks/compile.ts';
import { loadPlaybooks, toolCatalogue } from '../../src/playbooks/load.ts';
import type { Playbook } from '../../src/playbooks/playbook.ts';
import { CONFIDENT_SCORE, routeSymptom, scoreAll, TRIAGE } from '../../src/playbooks/route.ts';
import { routePlaybook } from '../../src/playbooks/select.ts';
import { readSymptom } from '../../src/playbooks/symptom-text.ts';

/**
 * Routing against the shipped playbooks and the corpus of symptoms in test/fixtures/symptoms.yaml. Until
 * playbooks/triage.yaml exists, a fixture playbook named triage stands in for it (routing picks triage by name).
 */

const Expect = z.union([z.string(), z.array(z.string()).min(1)]).transform((e) => [e].flat());
const Line = z.object({ symptom: z.string().min(1), expect: Expect }).strict();
const Corpus = z
  .object({
    tuning: z.array(Line).min(40),
    heldOut: z.array(Line).length(10),
    negations: z.array(z.object({ without: z.string(), with: z.string(), lowers: z.string() }).strict()).min(5),
  })
  .strict();
const corpus = Corpus.parse(parse(readFileSync(new URL('../fixtures/symptoms.yaml', import.meta.url), 'utf8')));

const TRIAGE_FIXTURE = `
name: triage
title: Test stand-in for the triage playbook
description: the broad first look, for these tests only
steps:
  - { id: errors, tool: syscount, title: Failing syscalls }
`;

let playbooks: Playbook[] = [];
beforeAll(async () => {
  const shipped = await loadPlaybooks();
  const triage = shipped.some((p) => p.name === TRIAGE) ? [] : [compilePlaybook(TRIAGE_FIXTURE, 'test:triage', toolCatalogue())];
  playbooks = [...shipped, ...triage];
});

const route = (symptom: string) => routeSymptom(playbooks, symptom)!;
const hits = { tuning: 0, heldOut: 0 };

describe('routing corpus (test/fixtures/symptoms.yaml)', () => {
  it.each(corpus.tuning.map((l) => [l.symptom, l.expect] as const))('"%s" → %s', (symptom, expected) => {
    const r = route(symptom);
    expect(expected, `${r.playbook} ${r.score}: ${r.why}`).toContain(r.playbook);
    hits.tuning++;
  });

  it('held-out lines, not used for tuning: at least 8 of 10', () => {
    const missed = corpus.heldOut.flatMap((l) => {
      const r = route(l.symptom);
      return l.expect.includes(r.playbook) ? [] : [`"${l.symptom}" → ${r.playbook} (${r.why}), expected ${l.expect.join(' or ')}`];
    });
    hits.heldOut = corpus.heldOut.length - missed.length;
    if (missed.length) console.log(`held-out misses:\n  ${missed.join('\n  ')}`);
    expect(hits.heldOut).toBeGreaterThanOrEqual(8);
  });

  afterAll(() => {
    console.log(`routing hit rate: tuning ${hits.tuning}/${corpus.tuning.length}, held-out ${hits.heldOut}/${corpus.heldOut.length}`);
  });

  it.each(corpus.negations.map((n) => [n.with, n.lowers, n.without] as const))('"%s" lowers %s', (withDenial, lowered, without) => {
    const before = scoreAll(playbooks, without).find((s) => s.playbook === lowered)!;
    const after = scoreAll(playbooks, withDenial).find((s) => s.playbook === lowered)!;
    expect(after.raw).toBeLessThan(before.raw);
    expect(after.score).toBeLessThanOrEqual(before.score);
    expect(after.why).toMatch(/not: /);
  });
});

describe('symptoms the e2e, kernel and integration tests start investigations with', () => {
  it.each([
    ['writes fail with No space left on device', 'enospc'],
    ['mount fails with No space left on device', 'enospc'],
    ['mounts fail with ENOSPC, no space left on device', 'enospc'],
    ['log-writer in shop/cart-7d9f keeps failing with "No space left on device" since the 14:00 deploy', 'enospc'],
    ['exec storm on this box', 'exec-storm'],
    ['where does the CPU go', 'cpu-profile'],
  ])('"%s" still routes to %s, confidently', (symptom, playbook) => {
    expect(route(symptom)).toMatchObject({ playbook, confident: true });
  });
});

describe('the routing answer', () => {
  it('names the deciding words, scores in 0..1, and lists up to 3 runners-up best first', () => {
    const r = Routing.parse(route('mount fails with ENOSPC, errno 28, disk is full, writes slow'));
    expect(r).toMatchObject({ playbook: 'enospc', confident: true });
    expect(r.why).toMatch(/ENOSPC/);
    expect(r.why).toMatch(/mount/);
    expect(r.score).toBeGreaterThanOrEqual(CONFIDENT_SCORE);
    expect(r.alternatives.length).toBeGreaterThan(0);
    expect(r.alternatives.length).toBeLessThanOrEqual(3);
    expect(r.alternatives.map((a) => a.playbook)).not.toContain('enospc');
    const scores = [r.score, ...r.alternatives.map((a) => a.score)];
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(routingText(r)).toMatch(/^→ enospc \(0\.\d\d\): .*ENOSPC.*; also: \S+ 0\.\d\d/);
  });

  it('runs triage, not confident, when nothing scores high enough, with what came closest', () => {
    const r = route('users complain the site is slow');
    expect(r).toMatchObject({ playbook: TRIAGE, confident: false });
    // "slow" alone is a hint: the closest is latency, which looks on and off CPU (cpu-profile only on it).
    expect(r.why).toMatch(/closest: latency 0\.\d\d \(slow\)/);
    expect(r.alternatives[0]).toMatchObject({ playbook: 'latency', why: 'slow' });
    expect(route('the printer is on fire')).toMatchObject({ playbook: TRIAGE, confident: false, alternatives: [] });
  });

  it('a named playbook wins over any symptom', () => {
    const { playbook, routing } = routePlaybook(playbooks, { playbook: 'runqlat', symptom: 'writes fail with ENOSPC' });
    expect(playbook.name).toBe('runqlat');
    expect(routing).toEqual({ playbook: 'runqlat', score: 1, confident: true, why: 'named', alternatives: [] });
    expect(routingText(routing)).toBe('→ runqlat (named)');
  });

  it('never refuses a symptom for matching nothing, but refuses one without words, naming the field', () => {
    expect(routePlaybook(playbooks, { symptom: 'the printer is on fire' }).playbook.name).toBe(TRIAGE);
    for (const symptom of ['', '  ', '?!', '…']) {
      let refused: unknown;
      try {
        routePlaybook(playbooks, { symptom });
      } catch (err) {
        refused = err;
      }
      expect(refused, JSON.stringify(symptom)).toBeInstanceOf(ValidationError);
      expect((refused as ValidationError).errors.map((e) => e.path)).toEqual(['symptom']);
    }
  });

  it('without a triage playbook, the best one runs unconfidently, and a symptom nothing scores for is refused', () => {
    const noTriage = playbooks.filter((p) => p.name !== TRIAGE);
    expect(routePlaybook(noTriage, { symptom: 'users complain the site is slow' }).routing).toMatchObject({ playbook: 'latency', confident: false });
    expect(() => routePlaybook(noTriage, { symptom: 'the printer is on fire' })).toThrow(/no triage playbook/);
  });
});

describe('reading a symptom', () => {
  const negated = (text: string) => readSymptom(text).tokens.filter((t) => t.negated).map((t) => t.word);

  it.each([
    ["CPU isn't saturated", ['cpu', 'saturated']],
    ['cpu is not saturated', ['cpu', 'is', 'saturated']],
    ['no errors in the logs', ['errors', 'in', 'the', 'logs']],
    ['slow, but not the disk', ['the', 'disk']],
    ['memory is fine, io slow', ['memory']],
    ['dmesg clean', ['dmesg']],
    ["didn't see any OOM", ['see', 'any', 'oom']],
    ['latency spikes without retransmits', ['retransmits']],
  ])('"%s" denies %j', (text, words) => expect(negated(text)).toEqual(words));

  it.each([
    'no space left on device',
    'file not found',
    "can't connect to redis",
    'not sure if it is the disk',
    'no idea why the pods restart',
    'latency higher than normal',
    'DNS not resolving',
    "pods aren't ready",
  ])('"%s" denies nothing', (text) => expect(negated(text)).toEqual([]));

  it('spells out abbreviations and reads quantities with their units', () => {
    const s = readSymptom('mem climbs, db conns slow: 300ms, p99 2 s, 95% cpu, limit 512Mi, 40 %');
    expect(s.tokens.map((t) => t.word)).toEqual(expect.arrayContaining(['memory', 'database', 'connections']));
    expect(s.quantities.map((q) => [q.unit, q.text])).toEqual([
      ['ms', '300ms'],
      ['percentile', 'p99'],
      ['s', '2 s'],
      ['%', '95%'],
      ['bytes', '512mi'],
      ['%', '40 %'],
    ]);
  });
});

describe('routing vocabulary in a playbook', () => {
  const yaml = (routing: string) => `
name: vocab
title: t
description: d
${routing}
steps:
  - { id: errors, tool: syscount, title: Failing syscalls }
`;
  const problems = (routing: string) => {
    try {
      compilePlaybook(yaml(routing), 'vocab.yaml', toolCatalogue());
    } catch (err) {
      if (err instanceof PlaybookError) return err.problems;
      throw err;
    }
    return [];
  };

  it('reports every bad entry with its path', () => {
    const found = problems(`routing:
  phrases:
    - { say: [disk full, 'no\\s+space'], weight: 3 }
    - { say: [not], weight: 1 }
    - { say: [Disk  Full, mem], weight: 1 }
  errnos: { ENOSPX: 2, enospc: 1, ENOSPC: 3 }
  signals: { SIGKIL: 2, SIGKILL: 1 }
  exitCodes: { '137': 1, '300': 1, abc: 1 }
  units: { parsec: 1, ms: 1 }
symptoms: ['(unclosed']`);
    expect(found.map((p) => p.path)).toEqual([
      'routing.phrases[0].say[1]',
      'routing.phrases[1].say[0]',
      'routing.phrases[2].say[0]',
      'routing.phrases[2].say[1]',
      'routing.errnos.ENOSPX',
      'routing.errnos.enospc',
      'routing.signals.SIGKIL',
      'routing.exitCodes.300',
      'routing.exitCodes.abc',
      'routing.units.parsec',
      'symptoms[0]',
    ]);
    expect(found.find((p) => p.path === 'routing.phrases[2].say[0]')?.message).toMatch(/already at routing\.phrases\[0\]\.say\[0\]/);
    expect(found.find((p) => p.path === 'routing.phrases[2].say[1]')?.message).toMatch(/"memory"/);
  });

  it('refuses weights out of range and unknown keys through the schema', () => {
    expect(problems('routing:\n  phrases: [{ say: [disk], weight: 0 }]').map((p) => p.path)).toEqual(['routing.phrases.0.weight']);
    expect(problems('routing:\n  words: [disk]').map((p) => p.path)).toEqual(['routing']);
  });

  it('reads errnos, signals and exit codes by name and by number in context, and units by quantity', () => {
    const p = compilePlaybook(
      yaml(`routing:
  errnos: { ENOSPC: 1 }
  signals: { SIGKILL: 1 }
  exitCodes: { '139': 1 }
  units: { ms: 1, percentile: 1 }`),
      'numbers.yaml',
      toolCatalogue(),
    );
    const why = (text: string) => scoreAll([p], text)[0]!.why;
    expect(why('write returned errno 28')).toBe('errno 28 (ENOSPC)');
    expect(why('open() failed (28: No space left on device)')).toBe('errno 28 (ENOSPC)');
    expect(why('ENOSPC again')).toBe('ENOSPC');
    expect(why('the worker got signal 9')).toBe('SIGKILL (9)');
    expect(why('someone ran kill -9 on it')).toBe('SIGKILL (9)');
    expect(why('sigkill')).toBe('SIGKILL');
    expect(why('Exit Code: 137')).toBe('exit code 137');
    expect(why('it exited with 139')).toBe('exit code 139');
    expect(why('reads take 300 ms at p99')).toBe('300 ms, p99');
    // Numbers without their context are just numbers.
    expect(why('137 pods on 28 nodes, 9 of them new')).toBe('');
  });

  it('still routes by the older symptoms regexes, at the weight that is just confident', () => {
    const legacy = compilePlaybook(yaml("symptoms: ['mount fails']"), 'legacy.yaml', toolCatalogue());
    expect(routeSymptom([legacy], 'the mount fails again')).toMatchObject({ playbook: 'vocab', confident: true, why: 'mount fails' });
    expect(routeSymptom([legacy], 'the mount never fails')).toBeNull();
  });
});
