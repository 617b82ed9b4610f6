import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UnsupportedTargetError } from '../../src/core/errors.ts';

/**
 * bpftrace's `cgroup` builtin is the cgroup v2 id, which is the inode number of the cgroup's directory.
 * The path was validated (no "..") before it got here; we still refuse anything that is not a directory.
 */
export function cgroupIdOf(root: string, path: string): number {
  const dir = join(root, path);
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new UnsupportedTargetError(`cgroup ${path} does not exist below ${root}`);
  }
  if (!st.isDirectory()) throw new UnsupportedTargetError(`cgroup ${path} is not a cgroup directory`);
  return st.ino;
}

/** Maps cgroup ids back to paths by walking the hierarchy; built lazily once per capture, when a result needs it. */
export function cgroupPathIndex(root: string, maxEntries = 200_000): (id: number) => string | null {
  let index: Map<number, string> | null = null;
  const build = () => {
    const map = new Map<number, string>();
    const walk = (rel: string) => {
      if (map.size >= maxEntries) return;
      let entries;
      try {
        entries = readdirSync(join(root, rel), { withFileTypes: true });
      } catch {
        return; // cgroups come and go while we walk
      }
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        const child = `${rel}/${e.name}`;
        try {
          map.set(statSync(join(root, child)).ino, child);
        } catch {
          continue;
        }
        walk(child);
      }
    };
    try {
      map.set(statSync(root).ino, '/');
    } catch {
      return map;
    }
    walk('');
    return map;
  };
  return (id) => {
    index ??= build();
    return index.get(id) ?? null;
  };
}
