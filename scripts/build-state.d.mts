// Types of build-state.mjs for the TypeScript that calls it.
export const ROOT: string;
export const DIST: string;
export const BUILD_INFO: string;
export const BUILD_CONFIG_INPUTS: string[];
export function buildState(): { state: 'fresh' } | { state: 'missing' } | { state: 'stale'; newer: string };
