import { createRequire } from 'node:module';
import Pusher from 'pusher';
import type * as PusherJsTypes from 'pusher-js';
import type { Channel, Options } from 'pusher-js';
import WebSocket from 'ws';

// pusher-js ships CommonJS whose typings declare an ES default export; loading it
// through require gives the class with its real type.
const require = createRequire(import.meta.url);
export const PusherClient = require('pusher-js') as typeof PusherJsTypes.default.default;
export type PusherClient = InstanceType<typeof PusherClient>;

export interface TestApp {
  id: string;
  key: string;
  secret: string;
}

/** A 32-byte master key for end-to-end encrypted channels (base64). */
export const ENCRYPTION_MASTER_KEY = Buffer.alloc(32, 7).toString('base64');

/** The real `pusher` server SDK pointed at a Herald HTTP port. */
export function serverSdk(port: number, app: TestApp): Pusher {
  return new Pusher({
    appId: app.id,
    key: app.key,
    secret: app.secret,
    host: '127.0.0.1',
    port: String(port),
    useTLS: false,
    encryptionMasterKeyBase64: ENCRYPTION_MASTER_KEY,
  });
}

export interface ClientIdentity {
  /** Presence channel_data the auth handler signs. */
  presence?: { user_id: string; user_info?: Record<string, unknown> };
  /** user_data for sign-in. */
  user?: { id: string; user_info?: Record<string, unknown> };
}

/**
 * The real pusher-js client (Node build, ws transport) whose authorization and
 * sign-in handlers sign with the real server SDK, as an app's auth endpoint would.
 */
export function pusherClient(port: number, app: TestApp, identity: ClientIdentity = {}, extra: Partial<Options> = {}): PusherClient {
  const sdk = serverSdk(port, app);
  const client = new PusherClient(app.key, {
    cluster: 'mt1',
    wsHost: '127.0.0.1',
    wsPort: port,
    forceTLS: false,
    enabledTransports: ['ws'],
    enableStats: false,
    channelAuthorization: {
      endpoint: '/unused',
      transport: 'ajax',
      customHandler: ({ socketId, channelName }, callback) => {
        try {
          callback(null, sdk.authorizeChannel(socketId, channelName, channelName.startsWith('presence-') ? identity.presence : undefined));
        } catch (err) {
          callback(err as Error, null);
        }
      },
    },
    userAuthentication: {
      endpoint: '/unused',
      transport: 'ajax',
      customHandler: ({ socketId }, callback) => {
        try {
          callback(null, sdk.authenticateUser(socketId, identity.user ?? { id: 'nobody' }));
        } catch (err) {
          callback(err as Error, null);
        }
      },
    },
    ...extra,
  });
  releaseCloseTimers(client);
  return client;
}

type FayeSocket = { _closeTimer?: NodeJS.Timeout };
type WithTransport = { connection: { connection?: { transport?: { socket?: FayeSocket } } | null } };

/**
 * The WebSocket client bundled in pusher-js arms a 30 s timer whenever it is asked to
 * close, even when the server has already closed the socket (which pusher-js does
 * after a refusal such as 4009). The timer only keeps the test process alive, so it
 * is unref'd once the client is disconnected.
 */
function releaseCloseTimers(client: PusherClient): void {
  const sockets = new Set<FayeSocket>();
  client.connection.bind('state_change', ({ current }: { current: string }) => {
    const socket = (client as unknown as WithTransport).connection.connection?.transport?.socket;
    if (socket) sockets.add(socket);
    if (current === 'disconnected' || current === 'connecting' || current === 'unavailable') {
      setImmediate(() => {
        for (const tracked of sockets) tracked._closeTimer?.unref();
      });
    }
  });
}

/** Resolves with the socket id once the client is connected. */
export function connected(client: PusherClient, timeoutMs = 10_000): Promise<string> {
  if (client.connection.state === 'connected') return Promise.resolve(client.connection.socket_id);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pusher-js did not connect within ${timeoutMs} ms (state ${client.connection.state})`)), timeoutMs);
    client.connection.bind('connected', () => {
      clearTimeout(timer);
      resolve(client.connection.socket_id);
    });
  });
}

/** Subscribes and resolves with the subscription_succeeded data, or rejects with the subscription_error. */
export function subscribe(
  client: PusherClient,
  name: string,
  options: { timeoutMs?: number; beforeAnswer?: (channel: Channel) => void } = {},
): Promise<{ channel: Channel; data: unknown }> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const channel = client.subscribe(name);
  // Frames right behind subscription_succeeded can be handled in the same tick; bind for them here.
  options.beforeAnswer?.(channel);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no subscription answer for ${name} within ${timeoutMs} ms`)), timeoutMs);
    channel.bind('pusher:subscription_succeeded', (data: unknown) => {
      clearTimeout(timer);
      resolve({ channel, data });
    });
    channel.bind('pusher:subscription_error', (error: unknown) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`subscription to ${name} failed`), { detail: error }));
    });
  });
}

/** Collects every `event` on `channel` (with its metadata) into an array. */
export function collect<T = unknown>(channel: Channel, event: string): Array<{ data: T; metadata: unknown }> {
  const received: Array<{ data: T; metadata: unknown }> = [];
  channel.bind(event, (data: T, metadata: unknown) => received.push({ data, metadata }));
  return received;
}

export interface RawFrame {
  event: string;
  channel?: string;
  data?: unknown;
  user_id?: string;
  [key: string]: unknown;
}

/** A raw `ws` client that records every frame, for wire-level checks. */
export class RawClient {
  readonly frames: RawFrame[] = [];
  /** Text of frames that did not parse as JSON (should stay empty). */
  readonly garbage: string[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? '' : data.toString();
      try {
        this.frames.push(JSON.parse(text) as RawFrame);
      } catch {
        this.garbage.push(text);
      }
      this.notify();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      this.notify();
    }));
    ws.on('error', () => {});
  }

  static open(url: string, options: WebSocket.ClientOptions = {}): RawClient {
    return new RawClient(new WebSocket(url, options));
  }

  /** Opens `/app/{key}?protocol=7…` and waits for connection_established; returns the client and its socket id. */
  static async connect(port: number, key: string, options: WebSocket.ClientOptions = {}): Promise<{ client: RawClient; socketId: string }> {
    const client = RawClient.open(`ws://127.0.0.1:${port}/app/${key}?protocol=7&client=js&version=8.4.0&flash=false`, options);
    const frame = await client.next((f) => f.event === 'pusher:connection_established' || f.event === 'pusher:error');
    if (frame.event !== 'pusher:connection_established') throw new Error(`connection refused: ${JSON.stringify(frame)}`);
    const data = JSON.parse(frame.data as string) as { socket_id: string };
    return { client, socketId: data.socket_id };
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The first frame (from `from` on) matching `match`, waiting for it if needed. */
  async next(match: (frame: RawFrame) => boolean, options: { from?: number; timeoutMs?: number } = {}): Promise<RawFrame> {
    const until = Date.now() + (options.timeoutMs ?? 10_000);
    let checked = options.from ?? 0;
    for (;;) {
      for (; checked < this.frames.length; checked += 1) {
        const frame = this.frames[checked] as RawFrame;
        if (match(frame)) return frame;
      }
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error(`socket closed while waiting; frames: ${JSON.stringify(this.frames).slice(0, 2000)}`);
      const left = until - Date.now();
      if (left <= 0) throw new Error(`no matching frame within ${options.timeoutMs ?? 10_000} ms; frames: ${JSON.stringify(this.frames).slice(0, 2000)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends and returns the index of the next frame, so a following `next` only sees the answer. */
  mark(): number {
    return this.frames.length;
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close();
    await this.closed;
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/** Parses a Pusher frame's string `data`. */
export function dataOf<T = Record<string, unknown>>(frame: RawFrame): T {
  return (typeof frame.data === 'string' ? JSON.parse(frame.data) : frame.data) as T;
}

/** Apps the gateway suites configure; each exercises one per-app setting. */
export const testApps = {
  main: { id: 'app-main', key: 'key-main', secret: 'secret-main-0001' },
  disabled: { id: 'app-off', key: 'key-off', secret: 'secret-off-00001' },
  noClientEvents: { id: 'app-quiet', key: 'key-quiet', secret: 'secret-quiet-001' },
  limited: { id: 'app-small', key: 'key-small', secret: 'secret-small-001' },
  origins: { id: 'app-web', key: 'key-web', secret: 'secret-web-00001' },
} as const satisfies Record<string, TestApp>;

/**
 * A daemon config for the gateway suites: liveness timeouts long enough that a busy
 * machine pausing the test process for seconds never closes a socket (tests that
 * observe a timeout set short ones on their own daemon and wait on the outcome), a
 * short cache TTL, and one app per per-app setting under test.
 */
export function gatewayTestConfig(gateway: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    gateway: { activityTimeoutSeconds: 60, pongTimeoutSeconds: 60, cacheTtlSeconds: 3, ...gateway },
    apps: [
      { ...testApps.main, enableClientMessages: true, enableSubscriptionCount: true },
      { ...testApps.disabled, enabled: false },
      { ...testApps.noClientEvents, enableClientMessages: false },
      { ...testApps.limited, limits: { maxConnections: 2 } },
      { ...testApps.origins, allowedOrigins: ['https://good.example.com', 'https://*.trusted.example'] },
    ],
  };
}

/** Polls `invariant` for `ms`, failing at the first moment it does not hold. */
export async function holdsFor(ms: number, invariant: () => boolean, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!invariant()) throw new Error(`stopped holding: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (!invariant()) throw new Error(`stopped holding: ${what}`);
}

/** Reads one sample of a Prometheus metric, or 0 when absent. */
export async function metricValue(metricsPort: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = line.slice(name.length).split(' ')[0] ?? '';
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) return Number(line.split(' ').pop());
  }
  return 0;
}

/**
 * The SDK's generic signed POST, which skips its client-side checks (so the server's
 * own checks are what is tested). Its typings say `body: string`, but it
 * JSON-encodes whatever it is given, so an object is what must be passed.
 */
export function signedPost(sdk: Pusher, path: string, body: object): Promise<Response> {
  return sdk.post({ path, body: body as unknown as string }) as unknown as Promise<Response>;
}
