import { readSync } from 'node:fs';
import type { ElfImage } from './elf.ts';

const SHT_SYMTAB = 2;
const NT_GNU_BUILD_ID = 3;

/** True when the file still has its full symbol table (.symtab), not only the exported one (.dynsym). */
export const hasFullSymbols = (image: ElfImage): boolean => image.sections.some((s) => s.type === SHT_SYMTAB);

/** The GNU build id of the open ELF file `fd` (its .note.gnu.build-id), lower-case hex; null when it has none. */
export function buildIdOf(fd: number, image: ElfImage): string | null {
  const note = image.sections.find((s) => s.name === '.note.gnu.build-id');
  if (note === undefined || note.size < 16n || note.size > 1024n) return null;
  const buf = Buffer.alloc(Number(note.size));
  if (readSync(fd, buf, 0, buf.length, Number(note.offset)) !== buf.length) return null;
  const namesz = buf.readUInt32LE(0);
  const descsz = buf.readUInt32LE(4);
  const type = buf.readUInt32LE(8);
  const descAt = 12 + Math.ceil(namesz / 4) * 4;
  if (type !== NT_GNU_BUILD_ID || buf.toString('latin1', 12, 15) !== 'GNU' || descsz < 2 || descAt + descsz > buf.length) return null;
  return buf.toString('hex', descAt, descAt + descsz);
}

/**
 * Where distributions install a stripped binary's symbols (Debian's -dbg/-dbgsym, Fedora's debuginfo), relative to
 * a root: /usr/lib/debug/.build-id/ab/cdef….debug. Their .symtab names what .dynsym cannot: local functions such
 * as glibc's __libc_start_call_main, where every main thread's stack begins.
 */
export const debugFilePath = (buildId: string): string => `usr/lib/debug/.build-id/${buildId.slice(0, 2)}/${buildId.slice(2)}.debug`;

/** The binary's segments and symbols, named from its debug file first: same link-time addresses, more names. */
export function withDebugSymbols(image: ElfImage, debug: ElfImage): ElfImage {
  return { ...image, lookup: (vaddr) => debug.lookup(vaddr) ?? image.lookup(vaddr) };
}
