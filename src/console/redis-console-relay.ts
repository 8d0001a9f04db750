import type { Logger } from '../log/logger.js';
import type { RedisClient } from '../redis/redis-client.js';
import { isConsoleEvent } from './console-event.js';
import type { ConsoleEvent } from './console-event.js';

/** Every node's console events on one Redis channel, so a viewer on any node sees the cluster. */
export class RedisConsoleRelay {
  private handler: ((event: ConsoleEvent) => void) | undefined;
  private readonly channel: string;

  constructor(
    private readonly o: { publisher: RedisClient; subscriber: RedisClient; keyPrefix: string; log: Logger },
  ) {
    this.channel = `${o.keyPrefix}:console`;
  }

  async start(onEvent: (event: ConsoleEvent) => void): Promise<void> {
    this.handler = onEvent;
    this.o.subscriber.on('message', this.onMessage);
    await this.o.subscriber.subscribe(this.channel);
  }

  async stop(): Promise<void> {
    this.o.subscriber.off('message', this.onMessage);
    await this.o.subscriber.unsubscribe(this.channel).catch(() => undefined);
  }

  /** Fire and forget: a console event never waits for, or fails, what it describes. */
  publish(event: ConsoleEvent): void {
    if (this.o.publisher.status !== 'ready') return;
    this.o.publisher.publish(this.channel, JSON.stringify(event)).catch((err: unknown) => this.o.log.debug({ err }, 'console event not relayed'));
  }

  private readonly onMessage = (channel: string, payload: string): void => {
    if (channel !== this.channel) return;
    let event: unknown;
    try {
      event = JSON.parse(payload);
    } catch {
      return;
    }
    if (isConsoleEvent(event)) this.handler?.(event);
  };
}
