import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import type { App } from '../apps/app-store.js';
import type { Logger } from '../log/logger.js';
import type { ChannelType } from './channels/channel-name.js';
import { Close, closeReason } from './close-codes.js';
import type { AppMetrics } from './gateway-metrics.js';
import type { LocalSocket } from './local-sockets.js';
import { errorFrame } from './protocol.js';
import { SlidingWindowLimiter } from './rate-window.js';
import { textFrameOf } from './text-frame.js';

export interface Subscription {
  readonly channel: string;
  readonly type: ChannelType;
  /** Presence: the user this socket joined as. */
  readonly userId: string | undefined;
  /** Frames that arrive while the subscription completes; written after subscription_succeeded. */
  backlog: Buffer[] | undefined;
}

export interface SignedInUser {
  readonly id: string;
  readonly info: unknown;
}

export interface ConnectionLimits {
  readonly maxBufferedBytes: number;
  readonly maxPendingOperations: number;
}

/** ws sends Buffers as binary unless told otherwise; Pusher frames are text. One object for every write. */
const textFrame = { binary: false } as const;

/** One client socket: what it joined, who it signed in as, liveness, and guarded writes. */
export class Connection implements LocalSocket {
  readonly subscriptions = new Map<string, Subscription>();
  /** Client events allowed per second (`maxClientEventsPerSecond`, < 0: unlimited). */
  readonly clientEvents: { tryTake(): boolean };
  readonly appId: string;
  user: SignedInUser | undefined;
  lastSeenAt: number;
  pingSentAt: number | undefined;
  /** Set while sign-in is required and not yet done. */
  authDeadlineAt: number | undefined;
  /** When we started closing; a peer that does not finish the close handshake is cut off. */
  closingSince: number | undefined;
  closed = false;
  /** Admitted and sent connection_established. */
  established = false;
  private pending = 0;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly ws: WebSocket,
    readonly app: App,
    readonly socketId: string,
    readonly log: Logger,
    readonly metrics: AppMetrics,
    private readonly limits: ConnectionLimits,
    now: number,
    /**
     * The upgraded TCP socket `ws` writes to. When given, frames are written to it already
     * framed (see text-frame.ts); `ws` sends everything else (pings, close) on the same socket.
     */
    private readonly socket?: Duplex,
  ) {
    this.appId = app.id;
    this.lastSeenAt = now;
    const perSecond = app.limits.maxClientEventsPerSecond;
    this.clientEvents = perSecond < 0 ? { tryTake: () => true } : new SlidingWindowLimiter(perSecond, 1000);
  }

  get open(): boolean {
    return !this.closed && this.closingSince === undefined;
  }

  send(frame: string): void {
    if (!this.open) return;
    const payload = Buffer.from(frame);
    this.write(payload);
  }

  deliver(channel: string, payload: Buffer): void {
    if (!this.open) return;
    const subscription = this.subscriptions.get(channel);
    if (subscription?.backlog) subscription.backlog.push(payload);
    else this.write(payload);
  }

  /** Releases frames held while the subscription completed. */
  flush(subscription: Subscription): void {
    const backlog = subscription.backlog ?? [];
    subscription.backlog = undefined;
    for (const payload of backlog) this.write(payload);
  }

  /** Sends `pusher:error` with the code, then closes with it: clients see the reason either way. */
  close(code: number, message: string, now = Date.now()): void {
    if (!this.open) return;
    this.write(Buffer.from(errorFrame(code, message)));
    this.closingSince = now;
    this.ws.close(code, closeReason(message));
  }

  /**
   * A handler failed on this socket's input: logged with the error, counted, and the
   * socket closed with 4100, so the client backs off, reconnects and rebuilds its state
   * from scratch; whatever the failed handler left half-done goes with the socket.
   */
  fail(err: unknown, handler: string): void {
    this.metrics.handlerFailed(handler);
    this.log.error({ err, handler }, 'frame handler failed; closing the socket');
    try {
      this.close(Close.OverCapacity, 'Server error handling a frame; reconnect');
    } catch {
      this.ws.terminate();
    }
  }

  /** Runs subscription work one operation at a time, in arrival order; refuses when too much is queued. */
  serialize(operation: () => Promise<void>): boolean {
    if (this.pending >= this.limits.maxPendingOperations) return false;
    this.pending += 1;
    this.queue = this.queue.then(operation).then(
      () => {
        this.pending -= 1;
      },
      (err: unknown) => {
        this.pending -= 1;
        this.fail(err, 'subscription');
      },
    );
    return true;
  }

  /** Resolves once every queued operation has run. */
  settled(): Promise<void> {
    return this.queue;
  }

  private write(payload: Buffer): void {
    // Safe beside ws's own sends: without permessage-deflate (off in the gateway) ws writes
    // each frame to the socket synchronously, so frames never interleave. After a close
    // frame (readyState CLOSING) nothing more may be written; ws.send knows that.
    if (this.socket && this.ws.readyState === WebSocket.OPEN) this.socket.write(textFrameOf(payload));
    else this.ws.send(payload, textFrame);
    this.metrics.sent(1, payload.length);
    if (this.ws.bufferedAmount > this.limits.maxBufferedBytes) this.shed();
  }

  /** A consumer that does not read is closed instead of buffered without bound; 4100 makes pusher-js back off and return. */
  private shed(): void {
    this.log.debug({ buffered: this.ws.bufferedAmount }, 'slow consumer disconnected');
    this.metrics.protocolError('slow_consumer');
    this.closingSince = Date.now();
    this.ws.close(Close.OverCapacity, 'Over capacity: client is not reading fast enough');
  }
}
