import { randomBytes, randomUUID } from 'node:crypto';
import { signQuery } from '../../src/lib/pusher-signing.js';
import type { ApnsMock } from '../fixtures/apns/apns-mock.js';
import type { TestCredentials } from '../helpers/certs.js';
import { startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import type { TestRedis } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';

export const faultApp = { id: 'fault-app', key: 'fault-key', secret: 'fault-secret-0001' } as const;

export interface FaultHarnessOptions {
  credentials: TestCredentials;
  mock: ApnsMock;
  redis?: TestRedis;
  /** Where Herald connects for APNs: the mock, or a fault proxy in front of it. */
  endpointPort?: number;
  auth?: 'certificate' | 'token';
  apns?: Record<string, unknown>;
  queue?: Record<string, unknown>;
  server?: Record<string, unknown>;
  webhooks?: Record<string, unknown>;
  appWebhooks?: Array<{ url: string; events: string[] }>;
}

export interface StatusBody {
  id: string;
  state: string;
  apns: { total: number; sent: number; failed: number; expired: number; pending: number; failures: Record<string, number> };
  realtime: { channels: number };
}

/** A fresh device token (32 bytes of hex). */
export const deviceToken = (): string => randomBytes(32).toString('hex');

/** One daemon (the built dist) wired to an APNs mock (and Redis when given), restartable on the same data. */
export class FaultHarness {
  herald!: HeraldProcess;
  readonly prefix = `f${randomUUID().slice(0, 8)}`;
  private readonly config: Record<string, unknown>;

  constructor(readonly o: FaultHarnessOptions) {
    const { credentials: c } = o;
    const auth = o.auth === 'token' ? { token: { key: c.p8Path, keyId: c.keyId, teamId: c.teamId } } : { cert: c.clientCertPath, key: c.clientKeyPath };
    this.config = {
      ...(o.redis ? { redis: { url: o.redis.url, keyPrefix: `${this.prefix}k` } } : {}),
      server: { shutdownGraceMs: 15_000, ...o.server },
      queue: { prefix: this.prefix, chunkSize: 100, concurrency: 4, lockDurationMs: 2_000, ...o.queue },
      ...(o.webhooks ? { webhooks: o.webhooks } : {}),
      log: { level: 'info' },
      apps: [
        {
          ...faultApp,
          ...(o.appWebhooks ? { webhooks: o.appWebhooks } : {}),
          apns: {
            topic: 'com.example.app',
            ...auth,
            endpoint: { host: '127.0.0.1', port: o.endpointPort ?? o.mock.port, ca: c.caCertPath },
            maxConcurrentStreams: 50,
            ...o.apns,
          },
        },
      ],
    };
  }

  async start(): Promise<HeraldProcess> {
    this.herald = await startHeraldProcess({ config: this.config });
    return this.herald;
  }

  async api(method: 'GET' | 'POST', path: string, body?: object, timeoutMs = 15_000): Promise<{ status: number; body: Record<string, unknown> }> {
    const raw = body === undefined ? undefined : JSON.stringify(body);
    const fullPath = `/apps/${faultApp.id}${path}`;
    const query = new URLSearchParams(signQuery(faultApp, method, fullPath, raw));
    const res = await fetch(`${this.herald.baseUrl}${fullPath}?${query.toString()}`, {
      method,
      signal: AbortSignal.timeout(timeoutMs),
      ...(raw === undefined ? {} : { body: raw, headers: { 'content-type': 'application/json' } }),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
  }

  /** POSTs a notification for `tokens`; the answer's status (202 accepted, 503 refused, ...). */
  async notify(id: string, tokens: readonly string[], timeoutMs?: number): Promise<number> {
    const answer = await this.api('POST', '/notifications', { v: 1, app: faultApp.id, id, apns: { tokens, payload: { aps: { alert: id } } } }, timeoutMs);
    return answer.status;
  }

  async status(id: string): Promise<StatusBody | undefined> {
    const answer = await this.api('GET', `/notifications/${id}`);
    return answer.status === 200 ? (answer.body as unknown as StatusBody) : undefined;
  }

  async finished(id: string, timeoutMs = 60_000): Promise<StatusBody> {
    return waitFor(
      async () => {
        const status = await this.status(id).catch(() => undefined);
        return status && (status.state === 'completed' || status.state === 'failed') ? status : undefined;
      },
      { timeoutMs, intervalMs: 100, what: `notification ${id} to finish` },
    );
  }

  /** GET /ready: status and the failing checks' names. */
  async readiness(): Promise<{ ready: boolean; failing: string[] }> {
    const res = await fetch(`${this.herald.baseUrl}/ready`, { signal: AbortSignal.timeout(5_000) });
    const body = (await res.json()) as { ready: boolean; checks: Record<string, { ok: boolean }> };
    const failing = Object.entries(body.checks).filter(([, check]) => !check.ok).map(([name]) => name);
    if (body.ready !== (res.status === 200)) throw new Error(`/ready says ${body.ready} with status ${res.status}`);
    return { ready: body.ready, failing };
  }

  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${this.herald.metricsPort}/metrics`)).text();
    const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    return text
      .split('\n')
      .filter((line) => (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && wanted.every((w) => line.includes(w)))
      .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
  }

  async stop(): Promise<void> {
    if (this.herald) await this.herald.stop();
  }
}

export interface DeliveryLedger {
  tokens: number;
  requests: number;
  /** Tokens APNs accepted (200) at least once. */
  delivered: number;
  /** Tokens APNs accepted more than once: the one duplicate that matters to a user. */
  acceptedTwice: number;
  /** Tokens sent more than once in total (retries of refused, stalled or lost requests included). */
  sentTwice: number;
  missing: number;
}

/** What the mock saw for `tokens`: the counts every fault case prints and asserts on. */
export function ledger(mock: ApnsMock, tokens: readonly string[]): DeliveryLedger {
  const wanted = new Set(tokens);
  const sent = new Map<string, number>();
  const accepted = new Map<string, number>();
  let requests = 0;
  for (const request of mock.requests) {
    if (!wanted.has(request.token)) continue;
    requests++;
    sent.set(request.token, (sent.get(request.token) ?? 0) + 1);
    if (request.reply === 'answered' && request.status === 200) accepted.set(request.token, (accepted.get(request.token) ?? 0) + 1);
  }
  return {
    tokens: wanted.size,
    requests,
    delivered: accepted.size,
    acceptedTwice: [...accepted.values()].filter((n) => n > 1).length,
    sentTwice: [...sent.values()].filter((n) => n > 1).length,
    missing: tokens.filter((t) => !accepted.has(t)).length,
  };
}

export function report(name: string, counts: DeliveryLedger, extra: Record<string, unknown> = {}): void {
  console.log(`fault ${name}: ${JSON.stringify({ ...counts, ...extra })}`);
}
