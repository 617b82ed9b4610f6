import { RateLimitedError } from '../core/errors.ts';
import { eventStreams } from '../metrics.ts';

/** Streams last as long as their investigation (seconds to minutes): a slot is rarely free sooner. */
const RETRY_AFTER_SEC = 10;

/**
 * Caps on open server-sent event streams in this API process, per identity (SSE_MAX_PER_IDENTITY) and in all
 * (SSE_MAX_STREAMS). A stream holds a socket, a Redis subscription callback and a loop for as long as an
 * investigation runs; without a cap one client could open them until the process runs out of sockets or memory.
 * Per process, not shared through Redis: what a stream costs is this process's, and a crashed replica must not
 * leave slots taken.
 */
export class StreamSlots {
  private readonly byIdentity = new Map<string, number>();
  private total = 0;

  constructor(private readonly limits: { perIdentity: number; total: number }) {}

  /** Takes a slot for `who` (a requestedBy) or throws a 429; the returned release may be called more than once. */
  acquire(who: string): () => void {
    if (this.total >= this.limits.total) {
      throw new RateLimitedError(`this server has ${this.total} event streams open, its limit (SSE_MAX_STREAMS); try again later`, RETRY_AFTER_SEC);
    }
    const mine = this.byIdentity.get(who) ?? 0;
    if (mine >= this.limits.perIdentity) {
      throw new RateLimitedError(
        `${who} has ${mine} event streams open, the limit per identity (SSE_MAX_PER_IDENTITY); close one or try again later`,
        RETRY_AFTER_SEC,
      );
    }
    this.byIdentity.set(who, mine + 1);
    this.total++;
    eventStreams.inc();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.byIdentity.get(who) ?? 1) - 1;
      if (left > 0) this.byIdentity.set(who, left);
      else this.byIdentity.delete(who);
      this.total--;
      eventStreams.dec();
    };
  }
}
