/**
 * Lets this node's joins and leaves run side by side, but never while a re-sync
 * compares Redis with what the node holds: a re-sync waits for the operations in
 * flight, and operations that arrive meanwhile wait for the re-sync.
 */
export class ResyncGate {
  private inFlight = 0;
  private exclusive: Promise<void> | undefined;
  private drained: (() => void) | undefined;

  /** Runs `operation` as one of many. */
  async shared<T>(operation: () => Promise<T>): Promise<T> {
    while (this.exclusive) await this.exclusive;
    this.inFlight += 1;
    try {
      return await operation();
    } finally {
      this.inFlight -= 1;
      if (this.inFlight === 0) this.drained?.();
    }
  }

  /** Runs `operation` alone, once the shared operations in flight have finished. */
  async alone<T>(operation: () => Promise<T>): Promise<T> {
    while (this.exclusive) await this.exclusive;
    let release!: () => void;
    this.exclusive = new Promise<void>((resolve) => (release = resolve));
    try {
      if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
      this.drained = undefined;
      return await operation();
    } finally {
      this.exclusive = undefined;
      release();
    }
  }
}
