#!/usr/bin/env node
// Runs the TypeScript sources directly (no build step): the same code path as `npm start`.
import { register } from 'tsx/esm/api';

register();
await import('../entry/cli.ts');
