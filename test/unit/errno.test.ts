import { describe, it, expect } from 'vitest';
import { ErrnoName, errnoName, errnoNumber } from '../../src/core/errno.ts';

describe('errnoName', () => {
  it('names the generic Linux numbers', () => {
    expect(errnoName(1)).toBe('EPERM');
    expect(errnoName(2)).toBe('ENOENT');
    expect(errnoName(28)).toBe('ENOSPC');
    expect(errnoName(110)).toBe('ETIMEDOUT');
    expect(errnoName(133)).toBe('EHWPOISON');
  });

  it('prefers the primary name over its alias', () => {
    expect(errnoName(11)).toBe('EAGAIN');
    expect(errnoName(35)).toBe('EDEADLK');
    expect(errnoName(95)).toBe('EOPNOTSUPP');
  });

  it('names the kernel-internal restart codes seen at syscall exit', () => {
    expect(errnoName(512)).toBe('ERESTARTSYS');
    expect(errnoName(514)).toBe('ERESTARTNOHAND');
    expect(errnoName(516)).toBe('ERESTART_RESTARTBLOCK');
  });

  it('falls back to E<n> for numbers without a name', () => {
    expect(errnoName(41)).toBe('E41');
    expect(errnoName(9999)).toBe('E9999');
    expect(errnoName(0)).toBe('E0');
  });
});

describe('errnoNumber', () => {
  it('looks names and aliases up case-insensitively', () => {
    expect(errnoNumber('ENOSPC')).toBe(28);
    expect(errnoNumber('enospc')).toBe(28);
    expect(errnoNumber(' EAcces ')).toBe(13);
    expect(errnoNumber('EWOULDBLOCK')).toBe(11);
    expect(errnoNumber('EDEADLOCK')).toBe(35);
    expect(errnoNumber('ENOTSUP')).toBe(95);
    expect(errnoNumber('ERESTARTSYS')).toBe(512);
  });

  it('returns undefined for unknown names, including Object.prototype keys', () => {
    expect(errnoNumber('ENOSPACE')).toBeUndefined();
    expect(errnoNumber('E28')).toBeUndefined();
    expect(errnoNumber('')).toBeUndefined();
    expect(errnoNumber('constructor')).toBeUndefined();
    expect(errnoNumber('__proto__')).toBeUndefined();
    expect(errnoNumber('toString')).toBeUndefined();
  });

  it('round-trips every named number', () => {
    const gaps = new Set([41, 58]); // unassigned in asm-generic
    for (let n = 1; n <= 133; n++) {
      if (gaps.has(n)) continue;
      expect(errnoNumber(errnoName(n))).toBe(n);
    }
  });
});

describe('ErrnoName', () => {
  it('normalizes known names to upper case', () => {
    expect(ErrnoName.parse('enospc')).toBe('ENOSPC');
    expect(ErrnoName.parse(' Econnrefused ')).toBe('ECONNREFUSED');
    expect(ErrnoName.parse('ewouldblock')).toBe('EWOULDBLOCK');
  });

  it('rejects unknown names with a message that says what is expected', () => {
    const r = ErrnoName.safeParse('enospace');
    expect(r.success).toBe(false);
    expect(r.error?.issues).toHaveLength(1);
    expect(r.error?.issues[0]?.message).toBe(
      'unknown errno name "ENOSPACE": expected a Linux errno name such as "ENOSPC" or "EACCES"',
    );
  });

  it('rejects numbers, empty strings and prototype keys', () => {
    expect(ErrnoName.safeParse(28).success).toBe(false);
    expect(ErrnoName.safeParse('').success).toBe(false);
    expect(ErrnoName.safeParse('28').success).toBe(false);
    expect(ErrnoName.safeParse('constructor').success).toBe(false);
  });
});
