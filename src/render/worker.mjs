// Entry of a render worker thread (pool.ts). Plain JavaScript on purpose: Node 20 cannot load TypeScript in a
// worker by itself, and neither tsx (the service) nor vitest (the tests) reaches into worker threads. So the worker
// registers tsx's loader first, then imports the TypeScript task module.
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { runRenderTask } = await import('./tasks.ts');

/** Hands the result's bytes over without a copy when they own their whole buffer (resvg's may not be movable). */
function reply(id, out) {
  if (out.byteOffset === 0 && out.byteLength === out.buffer.byteLength) {
    try {
      parentPort.postMessage({ id, ok: true, out }, [out.buffer]);
      return;
    } catch {
      // not transferable (an external buffer): copied below
    }
  }
  parentPort.postMessage({ id, ok: true, out });
}

// Messages posted before this listener existed were queued by the port, not lost.
parentPort.on('message', (msg) => {
  let out;
  try {
    out = runRenderTask(msg.task);
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    parentPort.postMessage({ id: msg.id, ok: false, error: { name: e.name, message: e.message } });
    return;
  }
  reply(msg.id, out);
});
