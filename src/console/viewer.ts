import type { ConsoleEvent } from './console-event.js';

/** Where a viewer's stream is written: the raw HTTP response of a Server-Sent Events request. */
export interface ViewerSink {
  /** Bytes queued in the socket, not yet taken by the kernel. */
  readonly writableLength: number;
  write(chunk: string): boolean;
  end(): void;
}

export interface ViewerLimits {
  maxEventsPerSecond: number;
  maxBufferedBytes: number;
}

export interface ViewerCounters {
  sent(bytes: number): void;
  sampled(): void;
  dropped(reason: 'slow'): void;
}

/**
 * One browser watching one app. It is never waited for: over `maxEventsPerSecond`
 * events are counted and skipped (the viewer is told how many), and a viewer whose
 * socket holds more than `maxBufferedBytes` unsent is disconnected.
 */
export class Viewer {
  private windowStart = 0;
  private inWindow = 0;
  private skipped = 0;
  closed = false;

  constructor(
    readonly app: string,
    private readonly sink: ViewerSink,
    private readonly limits: ViewerLimits,
    private readonly counters: ViewerCounters,
    private readonly now: () => number = Date.now,
  ) {}

  /** Returns false once the viewer is gone (closed, or dropped as too slow). */
  offer(event: ConsoleEvent): boolean {
    if (this.closed) return false;
    this.nextWindow();
    if (this.closed) return false;
    if (this.inWindow >= this.limits.maxEventsPerSecond) {
      this.skipped += 1;
      this.counters.sampled();
      return true;
    }
    this.inWindow += 1;
    return this.write('event', event);
  }

  /** A comment line: keeps proxies from timing the stream out, and reports skips no later event would. */
  ping(): boolean {
    this.nextWindow();
    return this.closed ? false : this.raw(': ping\n\n');
  }

  /** Opens a new one-second window once the last has passed, telling the viewer what it skipped. */
  private nextWindow(): void {
    const now = this.now();
    if (now - this.windowStart < 1000) return;
    this.windowStart = now;
    this.inWindow = 0;
    if (this.skipped > 0) {
      this.write('dropped', { count: this.skipped });
      this.skipped = 0;
    }
  }

  write(kind: string, data: unknown): boolean {
    return this.raw(`event: ${kind}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sink.end();
  }

  private raw(chunk: string): boolean {
    if (this.closed) return false;
    if (this.sink.writableLength > this.limits.maxBufferedBytes) {
      this.counters.dropped('slow');
      this.close();
      return false;
    }
    this.sink.write(chunk);
    this.counters.sent(Buffer.byteLength(chunk));
    return true;
  }
}
