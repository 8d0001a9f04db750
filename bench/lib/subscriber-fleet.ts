import { cpuSeconds } from './proc.js';
import { IpcChild } from './ipc.js';
import type { ConnectResult, Counters } from './subscriber-worker.js';

/** Source addresses for outgoing connections: each adds its own range of ephemeral ports. */
export const SOURCE_ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7'];

export interface FleetConnectResult extends ConnectResult {
  /** Connections per second over the whole fleet. */
  readonly perSecond: number;
}

/**
 * Subscribers spread over several worker processes, so the load generator is not a
 * single event loop. Every worker subscribes its share to the same channel.
 */
export class SubscriberFleet {
  private constructor(private readonly workers: IpcChild[]) {}

  static async start(processes: number): Promise<SubscriberFleet> {
    const workers = await Promise.all(Array.from({ length: processes }, () => IpcChild.start(new URL('./subscriber-worker.ts', import.meta.url))));
    return new SubscriberFleet(workers);
  }

  get pids(): number[] {
    return this.workers.map((w) => w.pid);
  }

  /** CPU seconds used so far by all workers together. */
  cpuSeconds(): number {
    return this.workers.reduce((sum, w) => sum + cpuSeconds(w.pid), 0);
  }

  async connect(url: string, total: number, channel: string, options: { concurrency?: number; timeoutMs?: number } = {}): Promise<FleetConnectResult> {
    const started = performance.now();
    const shares = this.workers.map((_, i) => Math.floor(total / this.workers.length) + (i < total % this.workers.length ? 1 : 0));
    const results = await Promise.all(
      this.workers.map((worker, i) =>
        worker.call<ConnectResult>(
          'connect',
          {
            url,
            count: shares[i],
            channel,
            // Each worker takes its own addresses, so no two processes race for one port range.
            localAddresses: SOURCE_ADDRESSES.filter((_, a) => a % this.workers.length === i),
            concurrency: options.concurrency ?? 100,
            timeoutMs: options.timeoutMs ?? 30_000,
          },
          300_000,
        ),
      ),
    );
    const ms = performance.now() - started;
    const connected = results.reduce((sum, r) => sum + r.connected, 0);
    return {
      connected,
      failed: results.reduce((sum, r) => sum + r.failed, 0),
      firstError: results.find((r) => r.firstError !== undefined)?.firstError,
      ms,
      perSecond: connected / (ms / 1000),
    };
  }

  async counters(): Promise<Counters> {
    const all = await Promise.all(this.workers.map((w) => w.call<Counters>('counters')));
    const closes: Record<string, number> = {};
    for (const c of all) for (const [code, n] of Object.entries(c.closes)) closes[code] = (closes[code] ?? 0) + n;
    return {
      open: all.reduce((sum, c) => sum + c.open, 0),
      received: all.reduce((sum, c) => sum + c.received, 0),
      lastAt: Math.max(...all.map((c) => c.lastAt)),
      closes,
    };
  }

  /**
   * Waits until `expected` bench events have arrived, or until nothing more arrived for
   * `idleMs` (the rest is lost), or `timeoutMs` passed.
   */
  async waitForDelivery(expected: number, options: { idleMs?: number; timeoutMs?: number } = {}): Promise<Counters> {
    const idleMs = options.idleMs ?? 3_000;
    const until = Date.now() + (options.timeoutMs ?? 120_000);
    let last = await this.counters();
    let progressAt = Date.now();
    while (last.received < expected && Date.now() < until && Date.now() - progressAt < idleMs) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const now = await this.counters();
      if (now.received > last.received) progressAt = Date.now();
      last = now;
    }
    return last;
  }

  /** Every worker's recorded latencies (ms), merged; the workers start counting afresh. */
  async drainLatencies(): Promise<Float64Array> {
    const parts = await Promise.all(this.workers.map((w) => w.call<Float64Array>('drain')));
    const merged = new Float64Array(parts.reduce((sum, p) => sum + p.length, 0));
    let offset = 0;
    for (const part of parts) {
      merged.set(part, offset);
      offset += part.length;
    }
    return merged;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.call('closeAll')));
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
  }
}
