import { describe, expect, it } from 'vitest';
import { readSourceFiles } from '../helpers/source-files.ts';
import { RedisKeys } from '../../src/redis/keys.ts';

/**
 * Issue #12 item 4: every Redis key is spelled in one class (src/redis/keys.ts, as BullMQ's QueueKeys spells its
 * own), and every BullMQ queue and worker is opened through one module (src/queue/open.ts) over one list
 * (src/queue/queues.ts), which names each queue
 * with what its jobs carry and return. The sources are read as text, so a key built by hand anywhere fails here.
 */

const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;
const KEYS_HOME = 'src/redis/keys.ts';
const QUEUES_HOME = 'src/queue/open.ts';


const files = readSourceFiles(SOURCE);

/**
 * The fixed words of our key layout ("inv", "schedule-runs", "reaper-lock", …), read from the class itself: each key
 * made with a marker prefix and marker arguments, split at ':', less the markers.
 */
const P = 'PREFIXMARK';
const A = 'ARGMARK';
function layoutWords(keys: RedisKeys): string[] {
  const made: string[] = [];
  for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(keys)) as (keyof RedisKeys)[]) {
    if (name === ('constructor' as keyof RedisKeys)) continue;
    const member = keys[name];
    made.push(String(typeof member === 'function' ? (member as (...a: string[]) => string).call(keys, A, A) : member));
  }
  return [...new Set(made.flatMap((k) => k.split(':')).filter((w) => w !== P && w !== A && w !== '*' && w !== ''))];
}
const WORDS = layoutWords(new RedisKeys(P));

const escape = (literal: string) => literal.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** How a key built by hand is recognised. */
const KEY_COPIES: { what: string; copy: RegExp }[] = [
  // `${prefix}:inv:${id}`, `${this.deps.prefix}:reaper-lock`: anything interpolated, then ':' and a word.
  { what: 'a template that appends a key segment to an interpolated prefix', copy: /\$\{[^}]*\}:[A-Za-z*]/ },
  { what: 'a key segment concatenated to a prefix', copy: /prefix\s*\+\s*['"`]:/i },
  // ':inv-index', ':schedule-runs:' in any string: a word of our layout between ':' and a ':' or the string's end.
  ...WORDS.map((w) => ({ what: `the key segment ":${w}"`, copy: new RegExp(`:${escape(w)}(?=[:'"\`*]|\\$\\{)`) })),
];

const offenders = (re: RegExp, home: string) => [...files].filter(([path, text]) => path !== home && re.test(text)).map(([path]) => path);

describe('one home for Redis keys and queues', () => {
  it('reads the whole tree and the whole key layout (the scan cannot pass by seeing nothing)', () => {
    expect(files.size).toBeGreaterThan(100);
    for (const path of [KEYS_HOME, QUEUES_HOME, 'workers/orchestrator/watchdog.ts', 'src/inventory/node-registry.ts']) expect(files.has(path), path).toBe(true);
    expect(WORDS).toEqual(expect.arrayContaining(['inv', 'inv-index', 'once', 'node', 'schedule-runs', 'reaper-lock', 'watched', 'reports-pending', 'ratelimit']));
  });

  it.each(KEY_COPIES)('$what appears only in src/redis/keys.ts', ({ copy }) => {
    expect(offenders(copy, KEYS_HOME)).toEqual([]);
  });

  it('BullMQ queues and workers are opened only in src/queue/open.ts (over the names and job types in queues.ts)', () => {
    const opened = /\bnew\s+(Queue|Worker|QueueEvents|FlowProducer)\b/;
    const bullmq = /from\s+['"]bullmq['"]/;
    expect([...files].filter(([path, text]) => path !== QUEUES_HOME && bullmq.test(text) && opened.test(text)).map(([path]) => path)).toEqual([]);
    expect(opened.test(files.get(QUEUES_HOME)!)).toBe(true);
  });

  it('no job data is cast: consumers get it typed (and validated) from the queue', () => {
    expect([...files].filter(([, text]) => /job\??\.data\s+as\b/.test(text)).map(([path]) => path)).toEqual([]);
  });

  it('recognises a key built by hand however it is spelt (the detectors are not vacuous)', () => {
    const detects = (text: string) => KEY_COPIES.some((k) => k.copy.test(text));
    expect(detects('const k = `${this.prefix}:inv:${id}`;')).toBe(true);
    expect(detects('const k = `${p}:watched`;')).toBe(true);
    expect(detects("const k = prefix + ':audit';")).toBe(true);
    expect(detects("redis.get(`tracehound:inv-index`)")).toBe(true);
    expect(detects("redis.scan(c, 'MATCH', 'th:node:*')")).toBe(true);
    expect(detects("{ path: '/v1/schedules/:name', access: 'schedules:write' }")).toBe(false);
    expect(detects('`http://${host}:${port}/v1/nodes`')).toBe(false);
  });
});
