import type { Logger } from '../../../log/logger.js';
import type { StateGeneration } from './state-generation.js';

export interface RestoreSettleOptions {
  generation: StateGeneration;
  timeoutMs: number;
  intervalMs: number;
  log: Logger;
  /** Asks for the re-sync that removes (and announces) the departures kept through the restore. */
  onDue: () => void;
}

/**
 * After this node wrote its holdings back to a Redis that had lost its data, the
 * departures it kept may be announced only once every other live node has written
 * back its own: a user who left here may still have a socket elsewhere. Waits one
 * node timeout (every live node beats, and so finds the loss, within it), then until
 * every node heard from has marked the new generation synced — or three timeouts at
 * most, so a node that never marks it (an older version) cannot hold departures back
 * for ever.
 */
export class RestoreSettle {
  private restoredAt: number | undefined;
  private restoredGeneration = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: RestoreSettleOptions) {}

  /** Departures were written back under `generation`: start waiting. */
  begin(generation: string): void {
    this.restoredAt = Date.now();
    this.restoredGeneration = generation;
    this.schedule();
  }

  get pending(): boolean {
    return this.restoredAt !== undefined;
  }

  /** Whether the departures may be removed now. */
  async due(): Promise<boolean> {
    if (this.restoredAt === undefined) return false;
    const waited = Date.now() - this.restoredAt;
    if (waited < this.o.timeoutMs) return false;
    if (waited >= 3 * this.o.timeoutMs) return true;
    return (await this.o.generation.unsyncedLiveNodes(this.restoredGeneration, this.o.timeoutMs)).length === 0;
  }

  /** The departures were removed (or a later restore took over). */
  done(): void {
    this.restoredAt = undefined;
    this.stop();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.pending) return;
      this.due()
        .then((due) => {
          if (due) this.o.onDue();
        })
        .catch((err: unknown) => this.o.log.debug({ err }, 'restore settle check failed'))
        .finally(() => {
          // Keeps checking until the re-sync calls done(): a failed re-sync is retried.
          if (this.pending && this.timer === undefined) this.schedule();
        });
    }, this.o.intervalMs).unref();
  }
}
