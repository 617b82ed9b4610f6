/**
 * Undo actions, registered as each change to the kernel is made and run newest first: a set-up that fails half way
 * still restores what it had done, and a run stopped by a signal restores the incident in flight.
 */
export class Teardown {
  private readonly undo: { label: string; fn: () => void | Promise<void> }[] = [];

  add(label: string, fn: () => void | Promise<void>): void {
    this.undo.push({ label, fn });
  }

  /** Runs every undo action even when some fail; returns the failures, in words. */
  async run(): Promise<string[]> {
    const failed: string[] = [];
    for (let u = this.undo.pop(); u; u = this.undo.pop()) {
      try {
        await u.fn();
      } catch (err) {
        failed.push(`${u.label}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return failed;
  }
}
