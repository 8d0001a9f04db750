import { randomBytes, randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import Pusher from 'pusher';
import { signQuery } from '../../src/lib/pusher-signing.js';
import { ApnsMock } from '../fixtures/apns/apns-mock.js';
import { testCredentials } from '../helpers/certs.js';
import type { TestCredentials } from '../helpers/certs.js';
import { startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { startRedis } from '../helpers/redis-server.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';

export type PipelineMode = 'memory' | 'redis';

export const pushApp = { id: 'app-push', key: 'key-push', secret: 'secret-push-0001' } as const;
/** An app without APNs credentials. */
export const plainApp = { id: 'app-plain', key: 'key-plain', secret: 'secret-plain-001' } as const;

export interface ApiAnswer {
  status: number;
  body: Record<string, unknown>;
}

export interface StatusBody {
  id: string;
  state: string;
  createdAt: string;
  attempts: number;
  apns: { total: number; sent: number; failed: number; expired: number; pending: number; invalidTokens: Array<{ token: string; reason: string; timestamp?: number }>; failures: Record<string, number> };
  realtime: { channels: number; error?: string };
  error?: string;
}

/** A fresh device token (32 bytes of hex). */
export function deviceToken(): string {
  return randomBytes(32).toString('hex');
}

export interface PipelineHarnessOptions {
  queue?: Record<string, unknown>;
  apns?: Record<string, unknown>;
  server?: Record<string, unknown>;
  /** Reuse this Redis (crash test restarts the daemon on the same data). */
  redis?: TestRedis;
  mock?: ApnsMock;
}

/**
 * One daemon (the built dist) with an APNs mock, for the pipeline suites; in `redis`
 * mode also a redis-server, with a fresh queue prefix and key prefix.
 */
export class PipelineHarness {
  herald!: HeraldProcess;

  private constructor(
    readonly mode: PipelineMode,
    readonly mock: ApnsMock,
    readonly credentials: TestCredentials,
    readonly redis: TestRedis | undefined,
    readonly prefix: string,
    private readonly config: Record<string, unknown>,
    private readonly ownsMock: boolean,
    private readonly ownsRedis: boolean,
  ) {}

  /** The real `pusher` server SDK, pointed at the running daemon. */
  get sdk(): Pusher {
    return new Pusher({ appId: pushApp.id, key: pushApp.key, secret: pushApp.secret, host: '127.0.0.1', port: String(this.herald.httpPort), useTLS: false });
  }

  static async start(mode: PipelineMode, options: PipelineHarnessOptions = {}): Promise<PipelineHarness> {
    const credentials = await testCredentials();
    const mock = options.mock ?? (await ApnsMock.start({ credentials, auth: 'certificate' }));
    const redis = mode === 'redis' ? (options.redis ?? (await startRedis())) : undefined;
    const prefix = `t${randomUUID().slice(0, 8)}`;
    const config = {
      ...(options.server ? { server: options.server } : {}),
      ...(redis ? { redis: { url: redis.url, keyPrefix: `${prefix}k` } } : {}),
      queue: { prefix, chunkSize: 100, concurrency: 4, lockDurationMs: 2_000, maxNotificationBytes: 256 * 1024, ...options.queue },
      apps: [
        {
          ...pushApp,
          apns: {
            topic: 'com.example.app',
            cert: credentials.clientCertPath,
            key: credentials.clientKeyPath,
            endpoint: { host: mock.host, port: mock.port, ca: credentials.caCertPath },
            maxConcurrentStreams: 50,
            ...options.apns,
          },
        },
        plainApp,
      ],
    };
    const harness = new PipelineHarness(mode, mock, credentials, redis, prefix, config, options.mock === undefined, options.redis === undefined && redis !== undefined);
    await harness.startDaemon();
    return harness;
  }

  /** (Re)starts the daemon with the same configuration. */
  async startDaemon(): Promise<HeraldProcess> {
    this.herald = await startHeraldProcess({ config: this.config });
    return this.herald;
  }

  async stop(): Promise<void> {
    await this.herald.stop();
    if (this.ownsMock) await this.mock.close();
    if (this.ownsRedis) await this.redis?.stop();
  }

  /** A signed request with a raw body (which may be anything, even broken JSON). */
  async api(method: 'GET' | 'POST' | 'DELETE', path: string, body?: string | object, app: { id: string; key: string; secret: string } = pushApp): Promise<ApiAnswer> {
    const raw = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const fullPath = `/apps/${app.id}${path}`;
    const query = new URLSearchParams(signQuery(app, method, fullPath, raw));
    const res = await fetch(`${this.herald.baseUrl}${fullPath}?${query.toString()}`, {
      method,
      ...(raw === undefined ? {} : { body: raw, headers: { 'content-type': 'application/json' } }),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
  }

  /** One signed request, sent again byte for byte by each call of the returned function (a replay). */
  signed(method: 'GET' | 'POST', path: string, body?: object, app: { id: string; key: string; secret: string } = pushApp): () => Promise<ApiAnswer> {
    const raw = body === undefined ? undefined : JSON.stringify(body);
    const fullPath = `/apps/${app.id}${path}`;
    const url = `${this.herald.baseUrl}${fullPath}?${new URLSearchParams(signQuery(app, method, fullPath, raw)).toString()}`;
    return async () => {
      const res = await fetch(url, { method, ...(raw === undefined ? {} : { body: raw, headers: { 'content-type': 'application/json' } }) });
      const text = await res.text();
      return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
    };
  }

  async status(id: string, app: { id: string; key: string; secret: string } = pushApp): Promise<StatusBody | undefined> {
    const answer = await this.api('GET', `/notifications/${id}`, undefined, app);
    return answer.status === 200 ? (answer.body as unknown as StatusBody) : undefined;
  }

  async finished(id: string, timeoutMs = 20_000, app: { id: string; key: string; secret: string } = pushApp): Promise<StatusBody> {
    return waitFor(
      async () => {
        const status = await this.status(id, app);
        return status && (status.state === 'completed' || status.state === 'failed') ? status : undefined;
      },
      { timeoutMs, intervalMs: 50, what: `notification ${id} to finish` },
    );
  }

  /** Job counts of one of the daemon's BullMQ queues, read straight from Redis. */
  async jobCounts(queueName: 'notifications' | 'notification-chunks'): Promise<Record<string, number>> {
    if (!this.redis) throw new Error('jobCounts needs redis mode');
    const queue = new Queue(queueName, { connection: { url: this.redis.url }, prefix: this.prefix });
    try {
      return await queue.getJobCounts('waiting', 'delayed', 'active', 'completed', 'failed');
    } finally {
      await queue.close();
    }
  }

  /** Adds a `notify` job straight into BullMQ, as another program would. */
  async queueAdd(data: unknown, jobId: string): Promise<void> {
    if (!this.redis) throw new Error('queueAdd needs redis mode');
    const queue = new Queue('notifications', { connection: { url: this.redis.url }, prefix: this.prefix });
    try {
      await queue.add('notify', data, { jobId });
    } finally {
      await queue.close();
    }
  }

  requestsFor(token: string): ApnsMock['requests'] {
    return this.mock.requests.filter((r) => r.token === token);
  }

  acceptedFor(tokens: ReadonlySet<string>): ApnsMock['requests'] {
    return this.mock.accepted().filter((r) => tokens.has(r.token));
  }
}
