// Entry of a render worker thread when the service runs from its TypeScript sources (tests, tsx). Neither tsx nor
// vitest reaches into worker threads, so this registers tsx's loader first, then loads the worker. The build runs
// dist/render-worker.mjs instead (pool.ts picks).
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
