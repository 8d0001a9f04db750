import type { Metrics } from '../metrics/metrics.js';
import type { ChannelKind } from './channels/channel-name.js';

type Child = { inc(value?: number): void };
type GaugeChild = Child & { dec(value?: number): void };

/**
 * The gateway's metrics for one app, with label children bound once: fanout to
 * thousands of sockets must not hash label sets per frame.
 */
export class AppMetrics {
  readonly messagesIn: Child;
  readonly bytesIn: Child;
  readonly messagesOut: Child;
  readonly bytesOut: Child;
  readonly connections: GaugeChild;
  readonly connectionsOpened: Child;
  readonly presenceMembers: GaugeChild;
  private unsentFrames = 0;
  private unsentBytes = 0;
  private flushQueued = false;

  constructor(
    private readonly metrics: Metrics,
    private readonly app: string,
  ) {
    const labels = { app };
    this.messagesIn = metrics.wsMessagesIn.labels(labels);
    this.bytesIn = metrics.wsBytesIn.labels(labels);
    this.messagesOut = metrics.wsMessagesOut.labels(labels);
    this.bytesOut = metrics.wsBytesOut.labels(labels);
    this.connections = metrics.wsConnections.labels(labels);
    this.connectionsOpened = metrics.wsConnectionsOpened.labels(labels);
    this.presenceMembers = metrics.presenceMembers.labels(labels);
  }

  /**
   * Counted in plain fields and added to the counters once per tick: a fanout to
   * thousands of sockets must not go through prom-client (a label hash) per frame.
   */
  sent(frames: number, bytes: number): void {
    this.unsentFrames += frames;
    this.unsentBytes += bytes;
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(this.flushSent);
  }

  private readonly flushSent = (): void => {
    this.flushQueued = false;
    this.messagesOut.inc(this.unsentFrames);
    this.bytesOut.inc(this.unsentBytes);
    this.unsentFrames = 0;
    this.unsentBytes = 0;
  };

  protocolError(reason: string): void {
    this.metrics.wsErrors.inc({ app: this.app, reason });
  }

  /** `handler`: a bounded label (see frame-router.ts handlerOf, or 'subscription'). */
  handlerFailed(handler: string): void {
    this.metrics.wsHandlerFailures.inc({ app: this.app, type: handler });
  }

  disconnected(reason: string): void {
    this.metrics.wsDisconnections.inc({ app: this.app, reason });
  }

  channelOccupied(kind: ChannelKind): void {
    this.metrics.channels.inc({ app: this.app, type: kind });
  }

  channelVacated(kind: ChannelKind): void {
    this.metrics.channels.dec({ app: this.app, type: kind });
  }

  clientEventRejected(reason: string): void {
    this.metrics.clientEventsRejected.inc({ app: this.app, reason });
  }

  published(type: 'api' | 'client' | 'notification', count = 1): void {
    this.metrics.eventsPublished.inc({ app: this.app, type }, count);
  }
}

export class GatewayMetrics {
  private readonly apps = new Map<string, AppMetrics>();

  constructor(readonly metrics: Metrics) {}

  forApp(app: string): AppMetrics {
    let bound = this.apps.get(app);
    if (!bound) {
      bound = new AppMetrics(this.metrics, app);
      this.apps.set(app, bound);
    }
    return bound;
  }

  refused(reason: string): void {
    this.metrics.wsRefused.inc({ reason });
  }

  adapter(direction: 'in' | 'out'): void {
    this.metrics.adapterMessages.inc({ direction });
  }
}
