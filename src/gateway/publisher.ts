import type { App } from '../apps/app-store.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Adapter } from './adapter/adapter.js';
import { isValidSigninUserId } from './channels/channel-name.js';
import { Fanout } from './fanout.js';
import { GatewayMetrics } from './gateway-metrics.js';
import { channelEventFrame } from './protocol.js';
import { validateEvent } from './publish-validation.js';
import type { PublishError, RealtimeEvent, UncheckedEvent, ValidatedEvent } from './publish-validation.js';
import type { ChannelCache } from './state/channel-cache.js';

export type { PublishError, PublishErrorReason, RealtimeEvent, UncheckedEvent } from './publish-validation.js';

export type PublishResult = { readonly ok: true; readonly channels: number } | PublishError;

export interface PublishOptions {
  /** Labels events_published_total; defaults to 'api'. */
  readonly source?: 'api' | 'notification';
}

/**
 * Publishes channel events to every subscriber in the cluster. Shared by the HTTP
 * API and the notification pipeline. Invalid events come back as a PublishError
 * value; a broken adapter or cache (infrastructure) rejects.
 */
export interface RealtimePublisher {
  publish(app: App, event: RealtimeEvent, options?: PublishOptions): Promise<PublishResult>;
}

export interface GatewayPublisherOptions {
  adapter: Adapter;
  cache: ChannelCache;
  metrics: Metrics;
  log: Logger;
  cacheTtlSeconds: number;
}

export class GatewayPublisher implements RealtimePublisher {
  private readonly fanout: Fanout;
  private readonly metrics: GatewayMetrics;

  constructor(private readonly o: GatewayPublisherOptions) {
    this.metrics = new GatewayMetrics(o.metrics);
    this.fanout = new Fanout(o.adapter, this.metrics, o.log);
  }

  /** Accepts unchecked input (the HTTP API passes parsed JSON): everything is validated here. */
  async publish(app: App, event: RealtimeEvent | UncheckedEvent, options: PublishOptions = {}): Promise<PublishResult> {
    const valid = validateEvent(app, event);
    if (!valid.ok) return valid;
    await this.send(app, valid, options);
    return { ok: true, channels: valid.channels.length };
  }

  /** All or nothing: every event is validated before any is sent. Errors name the batch index. */
  async publishBatch(app: App, events: ReadonlyArray<RealtimeEvent | UncheckedEvent>, options: PublishOptions = {}): Promise<PublishResult> {
    const validated: ValidatedEvent[] = [];
    for (const [index, event] of events.entries()) {
      const valid = validateEvent(app, event);
      if (!valid.ok) return { ...valid, message: `batch[${index}]: ${valid.message}` };
      validated.push(valid);
    }
    let channels = 0;
    // Local subscribers get every event even when Redis fails one: the first failure is thrown at the end.
    let failure: { error: unknown } | undefined;
    for (const valid of validated) {
      try {
        await this.send(app, valid, options);
      } catch (error) {
        failure ??= { error };
      }
      channels += valid.channels.length;
    }
    if (failure) throw failure.error;
    return { ok: true, channels };
  }

  /** Closes every socket signed in as the user, on every node. False when the id cannot be a user id. */
  async terminateUserConnections(app: App, userId: string): Promise<boolean> {
    if (!isValidSigninUserId(userId)) return false;
    await this.fanout.publish({ v: 1, type: 'terminate-user', app: app.id, userId });
    return true;
  }

  /**
   * Every channel is handed to the adapter (which delivers to this node's sockets
   * first) even when Redis fails the cache write or the fanout; then the first
   * failure is thrown, so the caller can say the event did not reach every node.
   */
  private async send(app: App, event: ValidatedEvent, options: PublishOptions): Promise<void> {
    const outcomes = await Promise.allSettled(
      event.channels.map(async (channel) => {
        // Cached before fanout, so a socket that joins after this publish replays it.
        const cached = channel.type.cache
          ? await this.o.cache.set({ app: app.id, channel: channel.name }, { event: event.name, data: event.data }, this.o.cacheTtlSeconds).then(
              () => ({ ok: true as const }),
              (error: unknown) => ({ ok: false as const, error }),
            )
          : { ok: true as const };
        const frame = channelEventFrame(event.name, channel.name, event.data);
        await this.fanout.publish(
          event.socketId === undefined
            ? { v: 1, type: 'event', app: app.id, channel: channel.name, frame }
            : { v: 1, type: 'event', app: app.id, channel: channel.name, frame, exceptSocketId: event.socketId },
        );
        if (!cached.ok) throw cached.error;
      }),
    );
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    this.metrics.forApp(app.id).published(options.source ?? 'api', event.channels.length);
  }
}
