import { readFileSync } from 'node:fs';

/**
 * The image every workload runs: the package's name and version, as README.md's `docker build -t` line tags it. An
 * overlay points it at a registry and a tag (kustomize `images:`, matched by IMAGE_NAME).
 */
const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };

export const IMAGE_NAME = pkg.name;
export const IMAGE = `${pkg.name}:${pkg.version}`;
