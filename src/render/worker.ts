// A render worker thread (pool.ts): runs each task it is sent and posts back its bytes or its error.
import { parentPort } from 'node:worker_threads';
import { runRenderTask, type RenderTask } from './tasks.ts';

if (!parentPort) throw new Error('src/render/worker.ts runs as a worker thread of the render pool');
const port = parentPort;

/** Hands the result's bytes over without a copy when they own their whole buffer (resvg's may not be movable). */
function reply(id: number, out: Uint8Array): void {
  if (out.byteOffset === 0 && out.byteLength === out.buffer.byteLength) {
    try {
      port.postMessage({ id, ok: true, out }, [out.buffer as ArrayBuffer]);
      return;
    } catch {
      // not transferable (an external buffer): copied below
    }
  }
  port.postMessage({ id, ok: true, out });
}

// Messages posted before this listener existed were queued by the port, not lost.
port.on('message', (msg: { id: number; task: RenderTask }) => {
  let out: Uint8Array;
  try {
    out = runRenderTask(msg.task);
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    port.postMessage({ id: msg.id, ok: false, error: { name: e.name, message: e.message } });
    return;
  }
  reply(msg.id, out);
});
