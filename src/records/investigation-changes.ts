import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';

/**
 * One Redis subscription per API process, fanned out to the SSE streams open on it: a stream learns that its
 * investigation changed and reads the record again (the record, not the message, is the truth).
 */
export class InvestigationChanges {
  private readonly emitter = new EventEmitter();
  private readonly stopping = new AbortController();
  /** Aborted when the API stops: open streams end, so the server can close. */
  readonly closed = this.stopping.signal;

  private constructor(private readonly subscriber: Redis) {
    this.emitter.setMaxListeners(0);
    subscriber.on('message', (_channel: string, id: string) => this.emitter.emit(id));
  }

  static async start(subscriber: Redis, channel: string): Promise<InvestigationChanges> {
    await subscriber.subscribe(channel);
    return new InvestigationChanges(subscriber);
  }

  /** Calls `fn` on each change of investigation `id`; returns the unsubscribe. */
  on(id: string, fn: () => void): () => void {
    this.emitter.on(id, fn);
    return () => this.emitter.off(id, fn);
  }

  async close(): Promise<void> {
    this.stopping.abort();
    await this.subscriber.quit();
  }
}
