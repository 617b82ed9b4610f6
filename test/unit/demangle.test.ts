import { describe, expect, it } from 'vitest';
import { Demangler } from '../../workers/node-agent/symbols/demangle.ts';

describe('Demangler (binutils c++filt)', () => {
  it('queues mangled names, demangles them in one batch, then answers from memory', async () => {
    const d = new Demangler();
    const mangled = '_ZN2v84base8FastDtoaEdNS0_12FastDtoaModeEiNS0_6VectorIcEEPiS4_';
    expect(d.name(mangled)).toBe(mangled);
    expect(d.name('crunch_alpha')).toBe('crunch_alpha');
    expect(await d.flush()).toBe(true);
    expect(d.name(mangled)).toBe('v8::base::FastDtoa(double, v8::base::FastDtoaMode, int, v8::base::Vector<char>, int*, int*)');
    expect(await d.flush()).toBe(false);
  });

  it('keeps a name c++filt cannot demangle, and every name when c++filt is missing', async () => {
    const d = new Demangler();
    d.name('_Znot-a-name');
    expect(await d.flush()).toBe(false);
    expect(d.name('_Znot-a-name')).toBe('_Znot-a-name');
    const missing = new Demangler('/nonexistent/c++filt');
    missing.name('_ZN2v84base8FastDtoaEv');
    expect(await missing.flush()).toBe(false);
    expect(missing.name('_ZN2v84base8FastDtoaEv')).toBe('_ZN2v84base8FastDtoaEv');
  });
});
