/**
 * The APNs baselines, each run in this process (its own event loop and /proc CPU):
 *  - a raw node:http2 client with a bounded window of streams in flight;
 *  - @parse/node-apn `send`, in bounded chunks (one unbounded send of tens of
 *    thousands of tokens fails: see shared spec, apns.md).
 * Payloads carry `t` (epoch ms the notification was handed over) for the fixture.
 */
import { createRequire } from 'node:module';
import { epochMs } from './clock.js';
import { benchToken } from './apns-tokens.js';
import type { FixtureInfo } from './apns-fixture-worker.js';
import { alertHeaders, openFixtureSession } from './apns-fixture-session.js';
import { serveIpc } from './ipc.js';

/** broadcast: one notification to `count` tokens; individual: `count` notifications of one token each. */
export type ApnsShape = 'broadcast' | 'individual';

export interface RawRunParams {
  readonly fixture: FixtureInfo;
  readonly shape: ApnsShape;
  readonly count: number;
  /** First token index, so runs use tokens of their own. */
  readonly firstToken: number;
  /** Requests in flight at once. */
  readonly window: number;
}

export interface RawRunResult {
  readonly accepted: number;
  readonly failed: number;
  readonly firstError: string | undefined;
  readonly ms: number;
}

const alert = { title: 'Shipped', body: 'Your order 1234 is on its way' };

async function rawHttp2(params: RawRunParams): Promise<RawRunResult> {
  const session = await openFixtureSession(params.fixture);
  const started = epochMs();
  const broadcastBody = JSON.stringify({ aps: { alert }, t: started });
  let accepted = 0;
  let failed = 0;
  let firstError: string | undefined;
  let next = 0;
  await new Promise<void>((done) => {
    let inFlight = 0;
    const issue = (): void => {
      while (inFlight < params.window && next < params.count) {
        const index = next++;
        inFlight += 1;
        const stream = session.request(alertHeaders(params.fixture.topic, benchToken(params.firstToken + index)));
        let status = 0;
        stream.on('response', (headers) => {
          status = Number(headers[':status']);
        });
        stream.on('error', (err) => {
          firstError ??= err.message;
        });
        stream.resume();
        stream.on('close', () => {
          inFlight -= 1;
          if (status === 200) accepted += 1;
          else {
            failed += 1;
            firstError ??= `status ${status}`;
          }
          if (next < params.count) issue();
          else if (inFlight === 0) done();
        });
        stream.end(params.shape === 'broadcast' ? broadcastBody : JSON.stringify({ aps: { alert }, t: epochMs() }));
      }
    };
    issue();
  });
  const ms = epochMs() - started;
  session.close();
  return { accepted, failed, firstError, ms };
}

interface NodeApnNotification {
  rawPayload: unknown;
  topic: string;
  pushType: string;
  priority: number;
}
interface NodeApnResponse {
  sent: unknown[];
  failed: Array<{ device: string; status?: number; error?: Error; response?: { reason?: string } }>;
}
interface NodeApnProvider {
  send(notification: NodeApnNotification, recipients: string | string[]): Promise<NodeApnResponse>;
  shutdown(callback?: () => void): void;
}
interface NodeApn {
  Provider: new (options: Record<string, unknown>) => NodeApnProvider;
  Notification: new () => NodeApnNotification;
}

const apn = createRequire(import.meta.url)('@parse/node-apn') as NodeApn;

/**
 * broadcast: chunks of `chunk` tokens, `window / chunk` sends in flight; individual:
 * `window` single-token sends in flight.
 */
async function nodeApn(params: RawRunParams & { chunk: number }): Promise<RawRunResult> {
  const provider = new apn.Provider({
    cert: params.fixture.certPath,
    key: params.fixture.keyPath,
    ca: [Buffer.from(params.fixture.ca)],
    address: '127.0.0.1',
    port: params.fixture.port,
    production: false,
  });
  const started = epochMs();
  const note = (t: number): NodeApnNotification => {
    const n = new apn.Notification();
    n.rawPayload = { aps: { alert }, t };
    n.topic = params.fixture.topic;
    n.pushType = 'alert';
    n.priority = 10;
    return n;
  };
  const per = params.shape === 'broadcast' ? params.chunk : 1;
  const lanes = Math.max(1, Math.floor(params.window / per));
  const broadcastNote = note(started);
  let accepted = 0;
  let failed = 0;
  let firstError: string | undefined;
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < params.count) {
      const from = next;
      next = Math.min(params.count, next + per);
      const tokens = Array.from({ length: next - from }, (_, i) => benchToken(params.firstToken + from + i));
      const result = await provider.send(params.shape === 'broadcast' ? broadcastNote : note(epochMs()), tokens);
      accepted += result.sent.length;
      failed += result.failed.length;
      const failure = result.failed[0];
      if (failure) firstError ??= failure.error?.message ?? `${failure.status} ${failure.response?.reason}`;
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  const ms = epochMs() - started;
  provider.shutdown();
  return { accepted, failed, firstError, ms };
}

serveIpc({
  rawHttp2: (params: RawRunParams) => rawHttp2(params),
  nodeApn: (params: RawRunParams & { chunk: number }) => nodeApn(params),
});
