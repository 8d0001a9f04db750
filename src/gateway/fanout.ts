import type { Logger } from '../log/logger.js';
import type { Adapter, FanoutMessage } from './adapter/adapter.js';
import type { GatewayMetrics } from './gateway-metrics.js';

/** Publishes through the adapter and counts what goes out. */
export class Fanout {
  constructor(
    private readonly adapter: Adapter,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
  ) {}

  /** Rejects when the adapter's transport is broken; callers that must know (the HTTP API) see it. */
  async publish(message: FanoutMessage): Promise<void> {
    this.metrics.adapter('out');
    await this.adapter.publish(message);
  }

  /**
   * For frames the gateway raises itself (member_added, subscription_count): a broken
   * transport is logged, not thrown into the subscription that caused it.
   */
  announce(app: string, channel: string, frame: string, exceptSocketId?: string): void {
    const message: FanoutMessage = exceptSocketId === undefined
      ? { v: 1, type: 'event', app, channel, frame }
      : { v: 1, type: 'event', app, channel, frame, exceptSocketId };
    this.publish(message).catch((err: unknown) => this.log.warn({ err, app }, 'fanout of a channel announcement failed'));
  }
}
