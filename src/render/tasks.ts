/**
 * The CPU-heavy renders the API hands to its worker threads (pool.ts), as messages both sides understand.
 *
 * Inputs and outputs are UTF-8 bytes rather than strings: bytes cross to the worker shared (a SharedArrayBuffer,
 * as ArtifactStore.getShared downloads them) or moved (an ArrayBuffer, transferred), and back moved; a string would
 * be copied on the event loop — tens of MB for a large profile. Decoding and encoding happen in the worker.
 */
import { renderDiffFlamegraph, type DiffFlamegraphOptions } from '../flamegraph/diff.ts';
import { flamegraphThumbnail } from '../flamegraph/artifacts.ts';

export type RenderTask =
  /** A differential flame graph SVG of two folded profiles (diff.ts). */
  | { kind: 'diff'; before: Uint8Array; after: Uint8Array; options: DiffFlamegraphOptions }
  /** A PNG thumbnail of a flame graph SVG (artifacts.ts). */
  | { kind: 'png'; svg: Uint8Array };

export type RenderKind = RenderTask['kind'];

/** Runs in a worker thread (worker.mjs); the result's buffer is transferred back. */
export function runRenderTask(task: RenderTask): Uint8Array {
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  switch (task.kind) {
    case 'diff':
      return new TextEncoder().encode(renderDiffFlamegraph(text(task.before), text(task.after), task.options));
    case 'png':
      return flamegraphThumbnail(text(task.svg));
  }
}

/**
 * The buffers a task can hand over to the worker instead of copying. Shared memory needs no transfer (it is
 * shared as it is); a Buffer that is a view of a larger (pooled) allocation is left out: transferring it would
 * detach bytes that belong to other Buffers.
 */
export function transferables(task: RenderTask): ArrayBuffer[] {
  const inputs = task.kind === 'diff' ? [task.before, task.after] : [task.svg];
  const out: ArrayBuffer[] = [];
  for (const b of inputs) {
    if (b.buffer instanceof ArrayBuffer && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && !out.includes(b.buffer)) out.push(b.buffer);
  }
  return out;
}
