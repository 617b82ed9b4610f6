// Whether dist/ is the build of the sources beside it. Plain JavaScript with no imports beyond node: so that
// bin/tracehound.mjs can ask before every command (a few ms for ~300 stats) without loading esbuild.
import { readFileSync, statSync } from 'node:fs';

export const ROOT = decodeURIComponent(new URL('../', import.meta.url).pathname);
export const DIST = `${ROOT}dist/`;
/** Written last by a build: what it read and when it started. */
export const BUILD_INFO = `${DIST}build-info.json`;

/**
 * Files besides the bundled sources that change what a build makes: the build itself, and the installed packages
 * (npm rewrites node_modules/.package-lock.json on every install).
 */
export const BUILD_CONFIG_INPUTS = ['scripts/build.mjs', 'tsconfig.json', 'node_modules/.package-lock.json'];

const mtimeOf = (rel) => {
  try {
    return statSync(`${ROOT}${rel}`).mtimeMs;
  } catch {
    return undefined;
  }
};

/**
 * 'missing' without a build; 'stale' when a source it read is newer than the build; 'fresh' otherwise. Sources that
 * are absent (a container image holds dist/ without src/) do not make a build stale: there is nothing to build from.
 */
export function buildState() {
  let info;
  try {
    info = JSON.parse(readFileSync(BUILD_INFO, 'utf8'));
  } catch {
    return { state: 'missing' };
  }
  for (const rel of [...info.inputs, ...BUILD_CONFIG_INPUTS]) {
    const mtime = mtimeOf(rel);
    if (mtime !== undefined && mtime > info.startedAt) return { state: 'stale', newer: rel };
  }
  return { state: 'fresh' };
}
