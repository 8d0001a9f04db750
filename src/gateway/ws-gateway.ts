import { UserSignins, isSigninRecord } from './user-signins.js';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { App, AppStore } from '../apps/app-store.js';
import type { HeraldConfig } from '../config/load.js';
import type { EventBus } from '../events.js';
import type { Service } from '../lib/service.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Adapter, FanoutMessage } from './adapter/adapter.js';
import { ClientEvents } from './client-events.js';
import { ConnectionsPerAddress, clientAddressResolver } from './client-address.js';
import { Close, closeReason, closeReasonLabel } from './close-codes.js';
import type { CloseCode } from './close-codes.js';
import { Connection } from './connection.js';
import { Fanout } from './fanout.js';
import { FrameRouter } from './frame-router.js';
import { GatewayMetrics } from './gateway-metrics.js';
import { checkHandshake } from './handshake.js';
import type { HandshakeVerdict } from './handshake.js';
import { LocalSockets } from './local-sockets.js';
import { OccupancyEvents } from './occupancy-events.js';
import { connectionEstablishedFrame, errorFrame, internalChannelFrame, pingFrame } from './protocol.js';
import { Signin } from './signin.js';
import { createSocketId } from './socket-id.js';
import type { ChannelCache } from './state/channel-cache.js';
import type { ChannelState } from './state/channel-state.js';
import { SubscriptionCountThrottle } from './subscription-count.js';
import { Subscriptions } from './subscriptions.js';

export type GatewayConfig = HeraldConfig['gateway'];

export interface WsGatewayOptions {
  apps: AppStore;
  adapter: Adapter;
  state: ChannelState;
  cache: ChannelCache;
  events: EventBus;
  log: Logger;
  metrics: Metrics;
  config: GatewayConfig;
  nodeId: string;
}

/** A peer that has not completed the close handshake this long after we closed is cut off. */
const CLOSE_GRACE_MS = 2_000;
/** Subscription operations one socket may have queued before more are refused. */
const MAX_PENDING_OPERATIONS = 100;

/**
 * The Pusher protocol 7 WebSocket endpoint (`/app/{key}` on the HTTP port). Holds
 * this node's sockets; fanout arrives from the adapter, shared occupancy and
 * presence live in ChannelState.
 */
export class WsGateway implements Service {
  readonly name = 'gateway';
  private readonly wss: WebSocketServer;
  private readonly sockets = new LocalSockets<Connection>();
  private readonly metrics: GatewayMetrics;
  private readonly occupancy: OccupancyEvents;
  private readonly counts: SubscriptionCountThrottle;
  private readonly subscriptions: Subscriptions;
  private readonly router: FrameRouter;
  private readonly fanout: Fanout;
  private readonly closing = new Set<Promise<void>>();
  private readonly perAddress: ConnectionsPerAddress;
  private readonly clientAddress: (req: IncomingMessage) => string;
  private readonly log: Logger;
  /** Who is signed in, cluster-wide: the notification pipeline's UserPresence (main.ts). */
  readonly signins: UserSignins;
  private sweeper: NodeJS.Timeout | undefined;
  private draining = false;

  constructor(private readonly o: WsGatewayOptions) {
    this.log = o.log.child({ node: o.nodeId });
    this.metrics = new GatewayMetrics(o.metrics);
    this.wss = new WebSocketServer({ noServer: true, maxPayload: o.config.maxPayloadBytes, perMessageDeflate: false, clientTracking: false });
    this.fanout = new Fanout(o.adapter, this.metrics, this.log);
    this.perAddress = new ConnectionsPerAddress(o.config.maxConnectionsPerIp);
    this.clientAddress = clientAddressResolver(o.config.trustedProxies);
    this.occupancy = new OccupancyEvents(o.events, o.config.vacateDelayMs);
    this.counts = new SubscriptionCountThrottle((ref, count) => {
      this.fanout.announce(ref.app, ref.channel, internalChannelFrame('pusher_internal:subscription_count', ref.channel, { subscription_count: count }));
      o.events.emit('subscription.count', { app: ref.app, channel: ref.channel, count });
    });
    this.subscriptions = new Subscriptions({
      state: o.state,
      cache: o.cache,
      sockets: this.sockets,
      fanout: this.fanout,
      occupancy: this.occupancy,
      counts: this.counts,
      events: o.events,
      log: this.log,
      maxChannelsPerConnection: o.config.maxChannelsPerConnection,
    });
    this.signins = new UserSignins(o.state);
    this.router = new FrameRouter(this.subscriptions, new Signin(this.sockets, o.events, this.signins), new ClientEvents(this.fanout, o.events));
    o.adapter.onMessage((message) => this.onFanout(message));
    o.state.onChange?.((change) => {
      if (!isSigninRecord(change.ref.channel)) this.subscriptions.announceChange(change, o.apps.byId(change.ref.app));
    });
  }

  /** Open sockets on this node. */
  get connectionCount(): number {
    return this.sockets.size;
  }

  async start(): Promise<void> {
    const { activityTimeoutSeconds, pongTimeoutSeconds } = this.o.config;
    const interval = Math.min(5_000, Math.max(100, (Math.min(activityTimeoutSeconds, pongTimeoutSeconds) * 1000) / 4));
    this.sweeper ??= setInterval(() => this.sweep(Date.now()), interval).unref();
  }

  /** Refuses new sockets with 4200, closes every open one with 4200, and waits for their cleanup. */
  async stop(deadline: AbortSignal): Promise<void> {
    this.draining = true;
    for (const conn of this.sockets.all()) conn.close(Close.Reconnect, 'Server shutting down, reconnect');
    const aborted = new Promise<void>((resolve) => deadline.addEventListener('abort', () => resolve(), { once: true }));
    const grace = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref());
    await Promise.race([this.allClosed(), aborted, grace]);
    for (const conn of this.sockets.all()) conn.ws.terminate();
    await Promise.race([this.allClosed(), aborted]);
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.counts.stop();
    this.occupancy.flush();
  }

  /**
   * Closes every socket of an app on this node (the app was removed, disabled or
   * re-keyed by a reload); returns how many. The code tells pusher-js whether to reconnect.
   */
  closeApp(appId: string, code: CloseCode, message: string): number {
    const sockets = this.sockets.ofApp(appId);
    for (const conn of sockets) conn.close(code, message);
    return sockets.length;
  }

  /** For HttpServer.onUpgrade. */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    let verdict: HandshakeVerdict = checkHandshake({ url: req.url, origin: req.headers.origin }, this.o.apps);
    if (verdict.ok && this.draining) verdict = { ok: false, code: Close.Reconnect, message: 'Server shutting down, reconnect', reason: 'draining' };
    if (verdict.ok && !this.admitAddress(req, socket)) {
      verdict = { ok: false, code: Close.OverCapacity, message: 'Too many connections from this address', reason: 'ip_limit' };
    }
    const decided = verdict;
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      if (decided.ok) this.accept(ws, decided.app, socket, req.headers.origin);
      else this.refuse(ws, decided.code, decided.message, decided.reason);
    });
  };

  /** Counts the connection against its address until the TCP socket closes; false when the address is at its limit. */
  private admitAddress(req: IncomingMessage, socket: Duplex): boolean {
    if (this.o.config.maxConnectionsPerIp === 0) return true;
    const address = this.clientAddress(req);
    if (!this.perAddress.tryAdmit(address)) return false;
    socket.once('close', () => this.perAddress.release(address));
    return true;
  }

  private refuse(ws: WebSocket, code: number, message: string, reason: string): void {
    this.metrics.refused(reason);
    this.log.debug({ code, reason }, 'connection refused');
    ws.on('error', () => {});
    ws.send(errorFrame(code, message));
    ws.close(code, closeReason(message));
  }

  private accept(ws: WebSocket, app: App, socket: Duplex, origin: string | undefined): void {
    let socketId = createSocketId();
    while (this.sockets.has(socketId)) socketId = createSocketId();
    const appMetrics = this.metrics.forApp(app.id);
    const log = this.log.child({ app: app.id, socket: socketId });
    const limits = { maxBufferedBytes: this.o.config.maxBufferedBytes, maxPendingOperations: MAX_PENDING_OPERATIONS };
    const conn = new Connection(ws, app, socketId, log, appMetrics, limits, Date.now(), socket);
    ws.on('error', (err: Error & { code?: string }) => {
      appMetrics.protocolError(wsErrorReason(err.code));
      log.debug({ code: err.code, message: err.message }, 'websocket error');
    });
    ws.on('message', (data, isBinary) => this.router.route(conn, data, isBinary, Date.now()));
    ws.on('pong', () => {
      conn.lastSeenAt = Date.now();
      conn.pingSentAt = undefined;
    });
    const counted = this.admit(conn, origin);
    ws.on('close', (code) => {
      const done = this.onClose(conn, code, counted).catch((err: unknown) => log.error({ err }, 'connection cleanup failed'));
      this.closing.add(done);
      void done.finally(() => this.closing.delete(done));
    });
  }

  /** Counts the socket against the app's quota and greets it. Resolves true when it was counted. */
  private async admit(conn: Connection, origin: string | undefined): Promise<boolean> {
    const { app, socketId } = conn;
    let accepted: boolean;
    try {
      accepted = (await this.o.state.openConnection(app.id, socketId, app.limits.maxConnections)).accepted;
    } catch (err) {
      conn.log.error({ err }, 'connection could not be counted; refusing it');
      this.metrics.refused('state_unavailable');
      conn.close(Close.OverCapacity, 'Over capacity, retry later');
      return false;
    }
    if (!accepted) {
      this.metrics.refused('over_quota');
      conn.log.debug({ limit: app.limits.maxConnections }, 'connection refused: over quota');
      conn.close(Close.OverQuota, 'App is over its connection quota');
      return false;
    }
    if (conn.closed) return true;
    conn.established = true;
    this.sockets.add(conn);
    conn.metrics.connections.inc();
    conn.metrics.connectionsOpened.inc();
    const authTimeout = this.o.config.userAuthenticationTimeoutSeconds;
    if (authTimeout > 0) conn.authDeadlineAt = Date.now() + authTimeout * 1000;
    conn.send(connectionEstablishedFrame(socketId, this.o.config.activityTimeoutSeconds));
    this.o.events.emit('connection.opened', origin === undefined ? { app: app.id, socketId } : { app: app.id, socketId, origin });
    return true;
  }

  private async onClose(conn: Connection, code: number, counted: Promise<boolean>): Promise<void> {
    conn.closed = true;
    const wasCounted = await counted;
    if (conn.established) {
      conn.metrics.connections.dec();
      conn.metrics.disconnected(closeReasonLabel(code));
      conn.log.debug({ code }, 'connection closed');
      await this.subscriptions.leaveAll(conn);
      if (conn.user) {
        this.sockets.forgetUser(conn, conn.user.id);
        await this.signins.signedOut(conn.app.id, conn.socketId, conn.user.id).catch((err: unknown) => conn.log.warn({ err }, 'sign-in record release failed'));
      }
      this.sockets.remove(conn);
      this.o.events.emit('connection.closed', { app: conn.app.id, socketId: conn.socketId, code });
    }
    if (wasCounted) {
      await this.o.state.closeConnection(conn.app.id, conn.socketId).catch((err: unknown) => conn.log.warn({ err }, 'connection count release failed'));
    }
  }

  private onFanout(message: FanoutMessage): void {
    this.metrics.adapter('in');
    if (message.v !== 1) return;
    if (message.type === 'event') {
      this.sockets.deliver(message.app, message.channel, message.frame, message.exceptSocketId);
    } else if (message.type === 'terminate-user') {
      for (const conn of this.sockets.userSockets(message.app, message.userId)) {
        conn.close(Close.Unauthorized, 'You got disconnected by the app');
      }
    }
  }

  /**
   * Liveness, run every few seconds over every socket: an idle socket gets a ws
   * ping and a pusher:ping; one that stays silent for the pong timeout is closed
   * with 4201; one that never finishes closing is cut off.
   */
  private sweep(now: number): void {
    const activityMs = this.o.config.activityTimeoutSeconds * 1000;
    const pongMs = this.o.config.pongTimeoutSeconds * 1000;
    for (const conn of this.sockets.all()) {
      if (conn.closingSince !== undefined) {
        if (now - conn.closingSince >= CLOSE_GRACE_MS) conn.ws.terminate();
      } else if (conn.authDeadlineAt !== undefined && now >= conn.authDeadlineAt) {
        conn.metrics.protocolError('auth_timeout');
        conn.close(Close.Unauthorized, 'Connection not authorized within timeout', now);
      } else if (conn.pingSentAt !== undefined) {
        if (now - conn.pingSentAt >= pongMs) {
          conn.log.debug('pong not received');
          conn.close(Close.PongTimeout, 'Pong reply not received', now);
        }
      } else if (now - conn.lastSeenAt >= activityMs) {
        conn.pingSentAt = now;
        conn.ws.ping();
        conn.send(pingFrame);
      }
    }
  }

  private async allClosed(): Promise<void> {
    while (this.sockets.size > 0 || this.closing.size > 0) {
      await Promise.race([...this.closing, new Promise((resolve) => setTimeout(resolve, 20))]);
    }
  }
}

function wsErrorReason(code: string | undefined): string {
  switch (code) {
    case 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH':
      return 'frame_too_large';
    case 'WS_ERR_INVALID_UTF8':
      return 'invalid_utf8';
    default:
      return 'ws_error';
  }
}
