import type { EventBus } from '../events.js';
import type { Adapter, FanoutMessage } from '../gateway/adapter/adapter.js';
import type { Service } from '../lib/service.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ProviderKind, PushBatch, PushResult } from '../providers/provider.js';
import type { ConsoleEvent } from './console-event.js';
import { endpointOrigin, pushResultEvent } from './push-result-event.js';
import type { RedisConsoleRelay } from './redis-console-relay.js';
import { RingBuffer } from './ring-buffer.js';
import type { Viewer } from './viewer.js';

export interface ConsoleFeedOptions {
  events: EventBus;
  adapter: Adapter;
  /** With Redis: spreads this node's events to every node. */
  relay?: RedisConsoleRelay | undefined;
  nodeId: string;
  bufferSize: number;
  metrics: Metrics;
}

/** Events this node relays to others per second at most; the rest are counted and skipped. */
const MAX_RELAYED_PER_SECOND = 1_000;
/** Frames larger than this are shown by size only: parsing them is not the console's to pay for. */
const MAX_PARSED_FRAME = 16 * 1024;
const MAX_SHOWN_DATA = 1024;

/**
 * What the console shows: Herald's own events (bus, per-token push outcomes) kept per
 * app in a ring buffer and relayed across nodes, and publishes seen on the adapter
 * (which every node already receives) while someone watches that app.
 */
export class ConsoleFeed implements Service {
  readonly name = 'console';
  private readonly buffers = new Map<string, RingBuffer<ConsoleEvent>>();
  private readonly viewers = new Set<Viewer>();
  private readonly unsubscribe: Array<() => void> = [];
  private relayWindow = 0;
  private relayed = 0;
  private pinger: NodeJS.Timeout | undefined;

  constructor(private readonly o: ConsoleFeedOptions) {}

  async start(): Promise<void> {
    const { events } = this.o;
    this.unsubscribe.push(
      events.on('connection.opened', (e) => this.record(e.app, 'connection.opened', { socketId: e.socketId, origin: e.origin })),
      events.on('connection.closed', (e) => this.record(e.app, 'connection.closed', { socketId: e.socketId, code: e.code })),
      events.on('user.signed_in', (e) => this.record(e.app, 'user.signed_in', { socketId: e.socketId, userId: e.userId })),
      events.on('channel.subscribed', (e) => this.record(e.app, 'subscribed', { channel: e.channel, socketId: e.socketId })),
      events.on('channel.occupied', (e) => this.record(e.app, 'channel.occupied', { channel: e.channel })),
      events.on('channel.vacated', (e) => this.record(e.app, 'channel.vacated', { channel: e.channel })),
      events.on('member.added', (e) => this.record(e.app, 'member.added', { channel: e.channel, userId: e.userId })),
      events.on('member.removed', (e) => this.record(e.app, 'member.removed', { channel: e.channel, userId: e.userId })),
      events.on('webhook.sent', (e) => this.record(e.app, e.ok ? 'webhook.sent' : 'webhook.failed', { url: e.url, events: e.events, status: e.status })),
      events.on('notification.accepted', (e) => this.record(e.app, 'notification.accepted', { id: e.id })),
      events.on('notification.completed', (e) => this.record(e.app, 'notification.completed', { id: e.id, sent: e.sent, failed: e.failed })),
      events.on('notification.failed', (e) => this.record(e.app, 'notification.failed', { id: e.id, sent: e.sent, failed: e.failed, reason: e.reason })),
      events.on('apns.token_invalid', (e) => this.record(e.app, 'apns.token_invalid', { id: e.notificationId, token: e.token, reason: e.reason })),
      events.on('fcm.token_invalid', (e) => this.record(e.app, 'fcm.token_invalid', { id: e.notificationId, token: e.token, reason: e.reason })),
      events.on('webpush.subscription_invalid', (e) =>
        this.record(e.app, 'webpush.subscription_invalid', { id: e.notificationId, token: e.token, reason: e.reason, endpoint: endpointOrigin(e.endpoint) }),
      ),
      events.on('device.removed', (e) => this.record(e.app, 'device.removed', { token: e.token, userId: e.userId, reason: e.reason })),
    );
    this.o.adapter.onMessage((message) => this.onFanout(message));
    await this.o.relay?.start((event) => {
      if (event.node !== this.o.nodeId) this.deliver(event);
    });
    // A comment every 15 s keeps idle streams open through proxies and finds dead viewers.
    this.pinger = setInterval(() => {
      for (const viewer of this.viewers) if (!viewer.ping()) this.viewers.delete(viewer);
      this.o.metrics.consoleViewers.set(this.viewers.size);
    }, 15_000);
    this.pinger.unref();
  }

  async stop(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
    if (this.pinger) clearInterval(this.pinger);
    for (const viewer of this.viewers) viewer.close();
    this.viewers.clear();
    this.o.metrics.consoleViewers.set(0);
    await this.o.relay?.stop();
  }

  /** Adds a viewer and replays the app's buffer to it. */
  attach(viewer: Viewer): () => void {
    for (const event of this.buffers.get(viewer.app)?.toArray() ?? []) viewer.offer(event);
    this.viewers.add(viewer);
    this.o.metrics.consoleViewers.set(this.viewers.size);
    return () => {
      this.viewers.delete(viewer);
      this.o.metrics.consoleViewers.set(this.viewers.size);
    };
  }

  /** One push result of a `kind` provider, for the per-token outcome line (`apns.result`, `fcm.result`, `webpush.result`). */
  pushResult(kind: ProviderKind, batch: PushBatch, result: PushResult): void {
    const { type, detail } = pushResultEvent(kind, batch, result);
    this.record(batch.app, type, detail);
  }

  /** A test publish made from the console page, so its origin is visible in the feed. */
  record(app: string, type: string, detail: Record<string, unknown>): void {
    const event: ConsoleEvent = { at: Date.now(), node: this.o.nodeId, app, type, detail: dropUndefined(detail) };
    this.deliver(event);
    if (this.o.relay) this.relay(event);
  }

  private relay(event: ConsoleEvent): void {
    const second = Math.floor(Date.now() / 1000);
    if (second !== this.relayWindow) {
      this.relayWindow = second;
      this.relayed = 0;
    }
    if (this.relayed >= MAX_RELAYED_PER_SECOND) {
      this.o.metrics.consoleEvents.inc({ status: 'relay_skipped' });
      return;
    }
    this.relayed += 1;
    this.o.metrics.consoleEvents.inc({ status: 'relayed' });
    this.o.relay?.publish(event);
  }

  private deliver(event: ConsoleEvent): void {
    let buffer = this.buffers.get(event.app);
    if (!buffer) {
      buffer = new RingBuffer(this.o.bufferSize);
      this.buffers.set(event.app, buffer);
    }
    buffer.push(event);
    for (const viewer of this.viewers) {
      if (viewer.app === event.app && !viewer.offer(event)) this.viewers.delete(viewer);
    }
  }

  private watched(app: string): boolean {
    for (const viewer of this.viewers) if (viewer.app === app) return true;
    return false;
  }

  private onFanout(message: FanoutMessage): void {
    if (message.type !== 'event' || !this.watched(message.app)) return;
    const detail: Record<string, unknown> = { channel: message.channel, bytes: message.frame.length };
    if (message.frame.length <= MAX_PARSED_FRAME) {
      try {
        const frame = JSON.parse(message.frame) as { event?: unknown; data?: unknown; user_id?: unknown };
        detail.event = frame.event;
        const data = typeof frame.data === 'string' ? frame.data : JSON.stringify(frame.data);
        detail.data = data && data.length > MAX_SHOWN_DATA ? `${data.slice(0, MAX_SHOWN_DATA)}…` : data;
        if (typeof frame.user_id === 'string') detail.userId = frame.user_id;
      } catch {
        // A frame is the publisher's own JSON; an unparsable one is shown by size.
      }
    }
    if (message.exceptSocketId) detail.exceptSocketId = message.exceptSocketId;
    const event: ConsoleEvent = { at: Date.now(), node: this.o.nodeId, app: message.app, type: 'publish', detail };
    this.deliver(event);
  }
}

function dropUndefined(detail: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(detail).filter(([, value]) => value !== undefined));
}
