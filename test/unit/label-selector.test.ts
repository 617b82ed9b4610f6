import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.ts';
import {
  LABEL_KEY,
  LABEL_VALUE,
  matchesLabelSelector,
  parseLabelSelector,
  type SelectorRequirement,
} from '../../src/inventory/label-selector.ts';

/** The ValidationError parseLabelSelector throws for `selector`; fails the test when it parses. */
function refusal(selector: string): ValidationError {
  let caught: unknown;
  try {
    parseLabelSelector(selector);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ValidationError);
  return caught as ValidationError;
}

const matches = (selector: string, labels: Record<string, string>) => matchesLabelSelector(parseLabelSelector(selector), labels);

describe('parseLabelSelector', () => {
  it('parses the equality- and set-based forms of the API', () => {
    expect(parseLabelSelector(' a = b , c!=d, e==f,g in (h, i),j notin (k),l,!m,n>3,o<-1,p=,q in ()')).toEqual([
      { key: 'a', operator: '=', values: ['b'] },
      { key: 'c', operator: '!=', values: ['d'] },
      { key: 'e', operator: '=', values: ['f'] },
      { key: 'g', operator: 'in', values: ['h', 'i'] },
      { key: 'j', operator: 'notin', values: ['k'] },
      { key: 'l', operator: 'exists', values: [] },
      { key: 'm', operator: '!exists', values: [] },
      { key: 'n', operator: 'gt', values: ['3'] },
      { key: 'o', operator: 'lt', values: ['-1'] },
      { key: 'p', operator: '=', values: [''] },
      { key: 'q', operator: 'in', values: [''] },
    ]);
    expect(parseLabelSelector('app.kubernetes.io/name=cart')).toEqual([
      { key: 'app.kubernetes.io/name', operator: '=', values: ['cart'] },
    ]);
  });

  it('gives no requirements for an empty or blank selector (it selects everything)', () => {
    expect(parseLabelSelector('')).toEqual([]);
    expect(parseLabelSelector('   ')).toEqual([]);
  });

  it('ignores spaces around keys, operators, values, parentheses and commas', () => {
    const expected: SelectorRequirement[] = [
      { key: 'app', operator: '=', values: ['cart'] },
      { key: 'tier', operator: 'in', values: ['a', 'b'] },
      { key: 'x', operator: '!exists', values: [] },
    ];
    expect(parseLabelSelector('  app  =  cart  ,  tier in ( a , b ) ,! x ')).toEqual(expected);
    expect(parseLabelSelector('app=cart,tier in (a,b),!x')).toEqual(expected);
    expect(parseLabelSelector('app\t=\tcart,\ntier in (a,b),!x')).toEqual(expected);
  });

  it('reads `in` and `notin` as operators only after a key, and as keys on their own', () => {
    expect(parseLabelSelector('in')).toEqual([{ key: 'in', operator: 'exists', values: [] }]);
    expect(parseLabelSelector('!notin')).toEqual([{ key: 'notin', operator: '!exists', values: [] }]);
    expect(parseLabelSelector('in in (in, notin)')).toEqual([{ key: 'in', operator: 'in', values: ['in', 'notin'] }]);
  });

  it('accepts a key prefix of 253 characters and a name of 63, and no more', () => {
    const prefix = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    expect(prefix).toHaveLength(253);
    expect(parseLabelSelector(`${prefix}/${'n'.repeat(63)}`)).toEqual([{ key: `${prefix}/${'n'.repeat(63)}`, operator: 'exists', values: [] }]);
    expect(refusal(`x${prefix}/n`).message).toContain('is not a valid label key');
    expect(refusal(`${'n'.repeat(64)}`).message).toContain('is not a valid label key');
  });

  it.each([
    ['app in (cart', 'value set is not closed'],
    ['app=cart,', 'expected a requirement after ","'],
    ['app cart', 'expected =, ==, !=, in, notin, > or < after "app", found "cart"'],
    ['app=-cart', '"-cart" is not a valid label value'],
    ['App_/x=1', 'is not a valid label key'],
    ['!app=cart', 'expected "," between requirements, found "="'],
    ['n>x', 'expected an integer after > or <'],
    [`k=${'v'.repeat(64)}`, 'is not a valid label value'],
  ])('refuses %s', (selector, message) => {
    const err = refusal(selector);
    expect(err.message).toContain(message);
    expect(err.errors).toEqual([{ path: 'target.labelSelector', message: expect.stringContaining(message) }]);
  });

  it.each([
    // [selector, the whole message after "invalid labelSelector: "]
    ['app=cart,,x', 'expected a label key (at character 10 of "app=cart,,x")'],
    ['=a', 'expected a label key (at character 1 of "=a")'],
    ['a=b=c', 'expected "," between requirements, found "=" (at character 4 of "a=b=c")'],
    ['app in (a b)', 'expected "," or ")" in the value set (at character 11 of "app in (a b)")'],
    ['a notin b', 'expected "(" to open the value set (at character 9 of "a notin b")'],
    ['x=(', 'expected a label value (at character 3 of "x=(")'],
    ['  a  b', 'expected =, ==, !=, in, notin, > or < after "a", found "b" (at character 6 of "  a  b")'],
    ['env in', 'expected "(" to open the value set (at the end of "env in")'],
    ['a in (b', 'value set is not closed with ")" (at the end of "a in (b")'],
    ['a,', 'expected a requirement after "," (at the end of "a,")'],
  ])('names where %j goes wrong', (selector, text) => {
    const err = refusal(selector);
    expect(err.message).toBe(`invalid labelSelector: ${text}`);
    expect(err.errors).toEqual([{ path: 'target.labelSelector', message: text }]);
  });
});

describe('matchesLabelSelector', () => {
  it('matches like the API: != and notin also select pods without the key', () => {
    const labels = { app: 'cart', tier: '3' };
    expect(matches('zone!=a', labels)).toBe(true);
    expect(matches('zone notin (a)', labels)).toBe(true);
    expect(matches('zone in (a)', labels)).toBe(false);
    expect(matches('tier>2,tier<4', labels)).toBe(true);
    expect(matches('app>2', labels)).toBe(false);
    expect(matches('app,!zone', labels)).toBe(true);
  });

  it('matches `in` when the value is one of the set, and `notin` when it is none of them', () => {
    expect(matches('env in (prod, staging)', { env: 'staging' })).toBe(true);
    expect(matches('env in (prod, staging)', { env: 'dev' })).toBe(false);
    expect(matches('env in (prod, staging)', {})).toBe(false);
    expect(matches('env notin (prod, staging)', { env: 'dev' })).toBe(true);
    expect(matches('env notin (prod, staging)', { env: 'prod' })).toBe(false);
    expect(matches('env in (prod,)', { env: '' })).toBe(true);
  });

  it('matches `key` when the label is there (even empty) and `!key` when it is not', () => {
    expect(matches('app', { app: '' })).toBe(true);
    expect(matches('app', { other: 'x' })).toBe(false);
    expect(matches('!app', { other: 'x' })).toBe(true);
    expect(matches('!app', { app: 'cart' })).toBe(false);
  });

  it('needs every requirement, and an empty selector matches anything', () => {
    expect(matches('app=cart,tier=3', { app: 'cart', tier: '3' })).toBe(true);
    expect(matches('app=cart,tier=3', { app: 'cart', tier: '4' })).toBe(false);
    expect(matches('', {})).toBe(true);
  });

  it('compares > and < as integers, and never matches a value that is not one', () => {
    expect(matches('n>9', { n: '10' })).toBe(true);
    expect(matches('n<-1', { n: '-2' })).toBe(true);
    expect(matches('n>1', { n: '2.5' })).toBe(false);
    expect(matches('n<1', {})).toBe(false);
  });

  it('reads only own labels, never inherited properties', () => {
    expect(matches('toString', {})).toBe(false);
    expect(matches('!constructor', {})).toBe(true);
  });
});

describe('LABEL_KEY and LABEL_VALUE', () => {
  it.each([
    ['zone', true],
    ['example.com/rack', true],
    ['app.kubernetes.io/name', true],
    ['a_b.c-d', true],
    ['-zone', false],
    ['zone-', false],
    ['Example.com/rack', false],
    ['example..com/rack', false],
    ['/rack', false],
    ['a/b/c', false],
    ['', false],
  ])('key %j → %s', (key, ok) => {
    expect(LABEL_KEY.test(key)).toBe(ok);
  });

  it.each([
    ['', true],
    ['v1.2_3-x', true],
    ['v'.repeat(63), true],
    ['v'.repeat(64), false],
    ['.v', false],
    ['a/b', false],
  ])('value %j → %s', (value, ok) => {
    expect(LABEL_VALUE.test(value)).toBe(ok);
  });
});
