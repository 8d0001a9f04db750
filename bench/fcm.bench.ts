/**
 * FCM provider against a raw node:http2 client, same run, same fixture (a local FCM in
 * its own process): one batch of N registration tokens, at 0 ms and 20 ms of added
 * latency, the same number of requests in flight for both. Both senders run in this
 * process, one after the other; CPU is this process's user + system time per message.
 * The raw client sends a prebuilt body with an access token fetched beforehand: the
 * floor of what sending costs on node:http2.
 *
 *   npm run bench -- fcm [--quick]
 */
import { connect } from 'node:http2';
import type { ClientHttp2Session } from 'node:http2';
import type { AppConfig } from '../src/config/load.js';
import { parseServiceAccount } from '../src/config/service-account.js';
import { EventBus } from '../src/events.js';
import { silentLogger } from '../src/log/logger.js';
import { createMetrics } from '../src/metrics/metrics.js';
import { AccessToken } from '../src/providers/fcm/access-token.js';
import { FcmProvider } from '../src/providers/fcm/fcm-provider.js';
import type { FcmFixtureCounters, FcmFixtureInfo } from './lib/fcm-fixture-worker.js';
import { IpcChild } from './lib/ipc.js';
import { quick, report } from './lib/report.js';
import type { Row } from './lib/report.js';
import { ratio } from './lib/stats.js';

const COUNT = quick ? 5_000 : 100_000;
const IN_FLIGHT = 500;
const latencies = [0, 20];
const message = { notification: { title: 'Shipped', body: 'Your order 1234 is on its way' }, data: { orderId: '1234' } };

let nextToken = 0;
const tokens = (count: number): string[] => Array.from({ length: count }, () => `bench${nextToken++}:APA91bHbenchRegistrationTokenPaddingToRealisticLength0123456789abcdefABCDEF`);

async function rawSend(info: FcmFixtureInfo, accessToken: string, list: readonly string[]): Promise<number> {
  const session: ClientHttp2Session = connect(`https://127.0.0.1:${info.port}`, { ca: info.ca, servername: 'localhost' });
  await new Promise<void>((resolve, reject) => {
    session.once('error', reject);
    session.once('remoteSettings', () => resolve());
  });
  session.on('error', () => {});
  const path = `/v1/projects/${info.projectId}/messages:send`;
  const tail = `,${JSON.stringify(message).slice(1, -1)}}}`;
  let next = 0;
  let delivered = 0;
  await new Promise<void>((done) => {
    let inFlight = 0;
    const issue = (): void => {
      while (inFlight < IN_FLIGHT && next < list.length) {
        const body = Buffer.from(`{"message":{"token":${JSON.stringify(list[next++])}${tail}`);
        inFlight += 1;
        const stream = session.request({ ':method': 'POST', ':path': path, authorization: `Bearer ${accessToken}`, 'content-type': 'application/json; charset=UTF-8', 'content-length': body.length });
        let status = 0;
        stream.on('response', (headers) => {
          status = Number(headers[':status']);
        });
        stream.setEncoding('utf8');
        stream.on('data', () => {});
        stream.on('error', () => {});
        stream.on('close', () => {
          if (status === 200) delivered += 1;
          inFlight -= 1;
          if (next >= list.length && inFlight === 0) done();
          else issue();
        });
        stream.end(body);
      }
    };
    issue();
  });
  session.close();
  return delivered;
}

async function main(): Promise<void> {
  const fixture = await IpcChild.start(new URL('./lib/fcm-fixture-worker.ts', import.meta.url));
  const rows: Row[] = [];
  const extra: Record<string, number> = {};
  let provider: FcmProvider | undefined;
  try {
    const info = await fixture.call<FcmFixtureInfo>('start', { latencyMs: 0, maxConcurrentStreams: 1000 });
    const parsed = parseServiceAccount(info.accountJson);
    if (!parsed.ok) throw new Error(parsed.problem);
    const fcm = { serviceAccount: parsed.account, endpoint: { host: '127.0.0.1', port: info.port, ca: info.caPath }, maxConcurrentStreams: IN_FLIGHT, connections: 1, maxAttempts: 5, requestTimeoutMs: 30_000, pingIntervalMs: 15_000 };
    const app = { id: 'bench', key: 'bench-key', secret: 'bench-secret', enabled: true, enableClientMessages: false, enableSubscriptionCount: false, limits: {} as AppConfig['limits'], webhooks: [], allowedOrigins: [], fcm } as AppConfig;
    provider = new FcmProvider({ apps: [app], log: silentLogger(), metrics: createMetrics({ defaults: false }), events: new EventBus() });
    await provider.start();
    const key = await import('node:crypto').then(({ createPrivateKey }) => createPrivateKey(parsed.account.privateKey));
    const raw = await new AccessToken({ clientEmail: parsed.account.clientEmail, key, tokenUri: parsed.account.tokenUri, ca: Buffer.from(info.ca), timeoutMs: 10_000 }).current();
    if (raw.kind !== 'token') throw new Error(`no access token for the raw client: ${raw.reason}`);
    // Warm both (connections, JIT) before measuring.
    await rawSend(info, raw.value, tokens(1_000));
    for await (const _ of provider.send({ app: 'bench', notificationId: 'warm', payload: {}, fcm: message, tokens: tokens(1_000) }, new AbortController().signal));
    await fixture.call('take');
    for (const latencyMs of latencies) {
      await fixture.call('setLatency', { latencyMs });
      const perSecond: Record<string, number> = {};
      for (const sender of ['raw http2', 'herald fcm'] as const) {
        const list = tokens(COUNT);
        const cpu = process.cpuUsage();
        const started = performance.now();
        let delivered = 0;
        if (sender === 'raw http2') delivered = await rawSend(info, raw.value, list);
        else for await (const result of provider.send({ app: 'bench', notificationId: `n-${latencyMs}`, payload: {}, fcm: message, tokens: list }, new AbortController().signal)) if (result.outcome.type === 'delivered') delivered += 1;
        const seconds = (performance.now() - started) / 1000;
        const used = process.cpuUsage(cpu);
        const counters = await fixture.call<FcmFixtureCounters>('take');
        perSecond[sender] = delivered / seconds;
        rows.push({
          sender,
          'latency ms': latencyMs,
          tokens: COUNT,
          delivered,
          refused: counters.refused,
          'msg/s': Math.round(delivered / seconds),
          'in flight peak': counters.peakInFlight,
          'sender cpu µs/msg': (used.user + used.system) / Math.max(1, delivered),
        });
      }
      extra[`herald / raw msg/s @${latencyMs} ms`] = ratio(perSecond['herald fcm'] ?? Number.NaN, perSecond['raw http2'] ?? Number.NaN);
    }
  } finally {
    await provider?.close(AbortSignal.timeout(5_000));
    await fixture.call('stop').catch(() => {});
    await fixture.stop();
  }
  report('fcm', rows, { ...extra, inFlight: IN_FLIGHT });
}

await main();
