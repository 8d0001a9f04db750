/**
 * What Web Push costs the sender. (1) Encryption per message (RFC 8291 aes128gcm: an
 * ephemeral P-256 key, ECDH, HKDF, AES-GCM) and a VAPID signature, in µs. (2) The
 * provider's throughput and CPU per message against the mock push service (in its own
 * process, verifying VAPID and decrypting every body), next to a raw client doing the
 * same encryption and keep-alive POSTs with the same concurrency and nothing else.
 *
 *   npm run bench -- webpush [--quick]
 */
import { createECDH, randomBytes } from 'node:crypto';
import { Agent, request } from 'node:https';
import { configSchema } from '../src/config/schema.js';
import type { AppConfig } from '../src/config/load.js';
import { EventBus } from '../src/events.js';
import { vapidKeyPair } from '../src/lib/p256-keys.js';
import { silentLogger } from '../src/log/logger.js';
import { createMetrics } from '../src/metrics/metrics.js';
import type { WebPushSubscription } from '../src/providers/provider.js';
import { encryptAes128gcm } from '../src/providers/webpush/aes128gcm.js';
import { VapidSigner } from '../src/providers/webpush/vapid.js';
import { WebPushProvider } from '../src/providers/webpush/webpush-provider.js';
import { generateVapidKeys } from '../test/fixtures/webpush/vapid-keys.js';
import { IpcChild } from './lib/ipc.js';
import { quick, report } from './lib/report.js';
import type { Row } from './lib/report.js';
import { ratio } from './lib/stats.js';

const MESSAGES = quick ? 2_000 : 20_000;
const SUBSCRIPTIONS = quick ? 500 : 2_000;
const CONCURRENCY = 64;
const DATA = JSON.stringify({ title: 'Shipped', body: 'Order 1234 is on its way', url: '/orders/1234', orderId: 1234 });

function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

function encryptionCost(): Row[] {
  const ua = createECDH('prime256v1');
  ua.generateKeys();
  const uaPublic = ua.getPublicKey();
  const authSecret = randomBytes(16);
  const plaintext = Buffer.from(DATA);
  const n = quick ? 2_000 : 20_000;
  for (let i = 0; i < 200; i++) encryptAes128gcm({ plaintext, uaPublic, authSecret });
  let started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) encryptAes128gcm({ plaintext, uaPublic, authSecret });
  const encryptUs = Number(process.hrtime.bigint() - started) / 1000 / n;
  const big = Buffer.alloc(3993, 0x61);
  started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) encryptAes128gcm({ plaintext: big, uaPublic, authSecret });
  const encryptBigUs = Number(process.hrtime.bigint() - started) / 1000 / n;
  const keys = generateVapidKeys();
  const pair = vapidKeyPair(keys.publicKey, keys.privateKey);
  if (!pair.ok) throw new Error(pair.message);
  let now = 0;
  const signer = new VapidSigner(pair.keys, 'mailto:bench@example.com', () => now);
  started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    now += 24 * 3600 * 1000; // every call past the renewal point: a fresh signature each time
    signer.authorization('https://push.example.net');
  }
  const signUs = Number(process.hrtime.bigint() - started) / 1000 / n;
  return [
    { operation: `encrypt ${plaintext.length}-byte data`, 'µs/op': encryptUs, 'ops/s': Math.round(1e6 / encryptUs) },
    { operation: 'encrypt 3993-byte data (largest)', 'µs/op': encryptBigUs, 'ops/s': Math.round(1e6 / encryptBigUs) },
    { operation: 'VAPID ES256 signature (once per origin per 11 h)', 'µs/op': signUs, 'ops/s': Math.round(1e6 / signUs) },
  ];
}

interface Run {
  seconds: number;
  cpuUs: number;
  delivered: number;
}

async function runProvider(subs: WebPushSubscription[], ca: string, vapid: { publicKey: string; privateKey: string }): Promise<Run> {
  const parsed = configSchema.parse({ apps: [{ id: 'bench', key: 'bench-key', secret: 'bench-secret', webpush: { vapid: { subject: 'mailto:bench@example.com', ...vapid }, allowPrivateEndpoints: true, maxInFlight: CONCURRENCY } }] });
  const provider = new WebPushProvider({ apps: [parsed.apps?.[0] as AppConfig], log: silentLogger(), metrics: createMetrics(), events: new EventBus(), ca });
  await provider.start();
  const tokens = Array.from({ length: MESSAGES }, (_, i) => `t${i}`);
  // Each token names a subscription; a batch sends to each endpoint once, so the run is cut into rounds of distinct subscriptions.
  let delivered = 0;
  const cpu = cpuMicros();
  const started = process.hrtime.bigint();
  for (let offset = 0; offset < MESSAGES; offset += subs.length) {
    const round = tokens.slice(offset, offset + subs.length);
    const subscriptions = new Map(round.map((token, i) => [token, subs[i] as WebPushSubscription]));
    for await (const result of provider.send({ app: 'bench', notificationId: `n${offset}`, tokens: round, payload: {}, web: { subscriptions, data: DATA } }, new AbortController().signal)) {
      if (result.outcome.type === 'delivered') delivered += 1;
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpuUs = cpuMicros() - cpu;
  await provider.close(AbortSignal.timeout(5_000));
  return { seconds, cpuUs, delivered };
}

/** The same work with nothing around it: encrypt, sign once, POST on a keep-alive agent, CONCURRENCY at a time. */
async function runRaw(subs: WebPushSubscription[], ca: string, vapid: { publicKey: string; privateKey: string }): Promise<Run> {
  const pair = vapidKeyPair(vapid.publicKey, vapid.privateKey);
  if (!pair.ok) throw new Error(pair.message);
  const signer = new VapidSigner(pair.keys, 'mailto:bench@example.com');
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca });
  const plaintext = Buffer.from(DATA);
  const opened = subs.map((s) => ({ url: new URL(s.endpoint), uaPublic: Buffer.from(s.keys.p256dh, 'base64url'), authSecret: Buffer.from(s.keys.auth, 'base64url') }));
  let next = 0;
  let delivered = 0;
  const post = (i: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const sub = opened[i % opened.length] as (typeof opened)[number];
      const body = encryptAes128gcm({ plaintext, uaPublic: sub.uaPublic, authSecret: sub.authSecret });
      const headers = { ttl: '3600', urgency: 'normal', 'content-encoding': 'aes128gcm', 'content-type': 'application/octet-stream', 'content-length': body.length, authorization: signer.authorization(sub.url.origin) };
      const req = request(sub.url, { method: 'POST', agent, headers }, (res) => {
        if (res.statusCode === 201) delivered += 1;
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end(body);
    });
  const worker = async (): Promise<void> => {
    while (next < MESSAGES) await post(next++);
  };
  const cpu = cpuMicros();
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpuUs = cpuMicros() - cpu;
  agent.destroy();
  return { seconds, cpuUs, delivered };
}

async function main(): Promise<void> {
  const encryption = encryptionCost();
  report('webpush-encryption', encryption);
  const mock = await IpcChild.start(new URL('./lib/webpush-mock-worker.ts', import.meta.url));
  const rows: Row[] = [];
  const extra: Record<string, number> = {};
  try {
    const { ca } = await mock.call<{ origin: string; ca: string }>('start');
    const vapid = generateVapidKeys();
    const subs = await mock.call<WebPushSubscription[]>('subscribe', { count: SUBSCRIPTIONS, applicationServerKey: vapid.publicKey });
    // Warm-up of both paths (TLS sessions, JIT), then the measured runs, raw first and provider second, twice unless --quick.
    await runRaw(subs.slice(0, 200), ca, vapid);
    const rounds = quick ? 1 : 2;
    for (let round = 1; round <= rounds; round++) {
      for (const [name, run] of [['raw client', runRaw], ['webpush provider', runProvider]] as const) {
        await mock.call('reset');
        const result = await run(subs, ca, vapid);
        const counts = await mock.call<{ received: number; undecryptable: number; refused: number; peak: number }>('counts');
        if (result.delivered !== MESSAGES || counts.undecryptable > 0 || counts.refused > 0) throw new Error(`${name}: ${result.delivered}/${MESSAGES} delivered, ${counts.undecryptable} undecryptable, ${counts.refused} refused`);
        const cpuPerMsg = result.cpuUs / MESSAGES;
        rows.push({ sender: name, round, messages: MESSAGES, 'msg/s': Math.round(MESSAGES / result.seconds), 'cpu µs/msg': cpuPerMsg, 'peak in flight at service': counts.peak });
        extra[`${name} cpu µs/msg r${round}`] = cpuPerMsg;
      }
    }
    const mean = (name: string): number => rows.filter((r) => r.sender === name).reduce((s, r) => s + Number(r['cpu µs/msg']), 0) / rounds;
    extra['cpu provider/raw (µs/msg ÷ µs/msg)'] = ratio(mean('webpush provider'), mean('raw client'));
  } finally {
    await mock.stop();
  }
  report('webpush', rows, { ...extra, concurrency: CONCURRENCY, subscriptions: SUBSCRIPTIONS, encryption });
}

await main();
