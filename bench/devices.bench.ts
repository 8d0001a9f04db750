/**
 * Users and interests on Redis: what resolving a notification's targets costs, beside the
 * same notification given as a token list. For an interest of 100,000 APNs devices: paging
 * the interest out of the device registry and recording the resolution (the token list cut
 * into chunks, StatusStore.saveTargets) against parsing and normalising 100,000 explicit
 * tokens (what a token-list notification costs before its chunks are cut). Then the online
 * check: one `onlineUsers` call for 1,000 users, half signed in, on the gateway's Redis
 * channel state; time per user.
 *
 * Then end to end: a daemon on the same Redis and key prefix (so it sees the registry
 * written above) sends, alternately, one notification to the interest (`deliver: push`)
 * and one to the same devices given as `apns.tokens`, to the APNs fixture in a process of
 * its own; tokens per second until the fixture accepted them all, and the daemon's CPU per
 * token. The fixture's counters are taken and reset after each notification, so rounds
 * never mix.
 *
 *   npm run bench -- devices [--quick]
 */
import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { RedisDeviceRegistry } from '../src/devices/redis-device-registry.js';
import { UserSignins } from '../src/gateway/user-signins.js';
import { RedisChannelState } from '../src/gateway/state/redis/redis-channel-state.js';
import { silentLogger } from '../src/log/logger.js';
import { parseNotification } from '../src/notifications/contract/parse-notification.js';
import { TargetResolver } from '../src/notifications/pipeline/targets.js';
import { RedisStatusStore } from '../src/notifications/status/redis-status-store.js';
import { startBenchRedis } from './lib/bench-redis.js';
import type { BenchRedis } from './lib/bench-redis.js';
import { benchApnsApp, waitForFixture } from './lib/apns-fixture.js';
import type { FixtureInfo, FixtureSample } from './lib/apns-fixture-worker.js';
import { benchToken } from './lib/apns-tokens.js';
import { epochMs } from './lib/clock.js';
import { IpcChild } from './lib/ipc.js';
import { postNotification } from './lib/notification-post.js';
import { cpuSeconds } from './lib/proc.js';
import { startHerald } from './lib/targets.js';
import type { HeraldTarget } from './lib/targets.js';
import { quick, report } from './lib/report.js';
import type { Row } from './lib/report.js';

const DEVICES = quick ? 20_000 : 100_000;
const USERS = 1_000;
const ROUNDS = quick ? 2 : 5;
const CHUNK_SIZE = 500;
const APP = 'bench';
const INTEREST = 'everyone';
/** Rounds of the end-to-end pair: interest then tokens in odd rounds, tokens then interest in even ones, so neither always goes first. */
const E2E_ROUNDS = quick ? 2 : 4;
/** Devices of a small interest of their own, sent to (both ways) before the measured rounds so the daemon's code is warm. */
const WARMUP = 1_000;
const WARMUP_INTEREST = 'warmup';
/** The daemon's APNs window and queue concurrency: those of the APNs bench, so its figures compare. */
const IN_FLIGHT = 1_000;
const QUEUE_CONCURRENCY = 64;
const alert = { title: 'Shipped', body: 'Your order 1234 is on its way' };

const ms = (from: bigint): number => Number(process.hrtime.bigint() - from) / 1e6;
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const mean = (values: number[]): number => values.reduce((sum, v) => sum + v, 0) / Math.max(1, values.length);

async function main(): Promise<void> {
  const redis = await startBenchRedis();
  const clients = [new Redis(redis.url), new Redis(redis.url), new Redis(redis.url)] as const;
  const [client, storeClient, stateClient] = clients;
  const registry = new RedisDeviceRegistry(client, 'bench');
  const store = new RedisStatusStore(storeClient, { keyPrefix: 'bench', queuePrefix: 'herald', partitions: 1 }, 3600);
  const state = new RedisChannelState({ client: stateClient, keyPrefix: 'bench', nodeId: 'bench-node', nodeTimeoutSeconds: 20, log: silentLogger() });
  await state.start();
  const signins = new UserSignins(state);
  try {
    const tokens = Array.from({ length: DEVICES }, (_, i) => benchToken(i));
    for (let from = 0; from < tokens.length; from += 1_000) {
      await Promise.all(tokens.slice(from, from + 1_000).map((token, i) => registry.put(APP, { token, userId: `u${from + i}`, platform: 'apns', interests: [INTEREST], updatedAt: 1 })));
    }
    for (let i = 0; i < WARMUP; i += 1) {
      await registry.put(APP, { token: benchToken(DEVICES + i), userId: `w${i}`, platform: 'apns', interests: [WARMUP_INTEREST], updatedAt: 1 });
    }
    const resolver = new TargetResolver({ devices: registry, presence: signins, chunkSize: CHUNK_SIZE });
    const payload = { aps: { alert: 'hi' } };

    const asInterest: number[] = [];
    const asTokens: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const ref = { app: APP, id: `interest-${round}` };
      await store.create({ ...ref, createdAt: Date.now(), tokens: 0, chunks: 0, active: true });
      let started = process.hrtime.bigint();
      const parsed = parseNotification({ v: 1, app: APP, id: ref.id, to: { interests: [INTEREST] }, apns: { payload } });
      if (!parsed.ok) throw new Error(parsed.error);
      const targets = await resolver.resolve(parsed.notification);
      await store.saveTargets(ref, targets);
      asInterest.push(ms(started));
      if (targets.chunks.flat().length !== DEVICES) throw new Error(`resolved ${targets.chunks.flat().length} of ${DEVICES}`);

      started = process.hrtime.bigint();
      const list = parseNotification({ v: 1, app: APP, id: `tokens-${round}`, apns: { tokens, payload } });
      if (!list.ok) throw new Error(list.error);
      const chunks: string[][] = [];
      for (let from = 0; from < list.notification.apns!.tokens.length; from += CHUNK_SIZE) chunks.push(list.notification.apns!.tokens.slice(from, from + CHUNK_SIZE));
      asTokens.push(ms(started));
    }

    // Half of the users signed in (one socket each), then one call for all of them.
    const users = Array.from({ length: USERS }, (_, i) => `user-${i}`);
    await Promise.all(users.filter((_, i) => i % 2 === 0).map((user, i) => signins.signedIn(APP, `1.${i}`, user)));
    const online: number[] = [];
    for (let round = 0; round < ROUNDS * 4; round += 1) {
      const started = process.hrtime.bigint();
      const found = await signins.onlineUsers(APP, users);
      online.push(ms(started));
      if (found.size !== USERS / 2) throw new Error(`${found.size} online, expected ${USERS / 2}`);
    }

    const interestMs = median(asInterest);
    const tokensMs = median(asTokens);
    const rows: Row[] = [
      { case: `interest of ${DEVICES} devices: resolve + record`, ms: interestMs, 'µs per device': (interestMs * 1000) / DEVICES },
      { case: `${DEVICES} tokens: parse + cut`, ms: tokensMs, 'µs per device': (tokensMs * 1000) / DEVICES },
      { case: `online check, ${USERS} users (one call)`, ms: median(online), 'µs per user': (median(online) * 1000) / USERS },
    ];
    const loadBefore = loadavg()[0] ?? Number.NaN;
    const endToEnd = await sendEndToEnd(redis);
    rows.push(...endToEnd.rows);
    report('devices', rows, {
      ratio_interest_over_tokens: interestMs / tokensMs,
      e2e_ratio_tokens_per_s_interest_over_tokens: endToEnd.throughputRatio,
      e2e_ratio_herald_cpu_interest_over_tokens: endToEnd.cpuRatio,
      rounds: ROUNDS,
      e2eRounds: E2E_ROUNDS,
      chunkSize: CHUNK_SIZE,
      inFlight: IN_FLIGHT,
      queueConcurrency: QUEUE_CONCURRENCY,
      loadavg1_before_e2e: loadBefore,
      loadavg1_after_e2e: loadavg()[0] ?? Number.NaN,
    });
  } finally {
    await state.stop(AbortSignal.timeout(5_000)).catch(() => undefined);
    for (const c of clients) c.disconnect();
    await redis.stop();
  }
}

type Shape = 'interest' | 'tokens';

/** One notification to the interest's devices (`count` from token `first` on), as the interest or as the token list. */
function notificationOf(shape: Shape, interest: string, first: number, count: number): Record<string, unknown> {
  const payload = { aps: { alert }, t: epochMs() };
  return shape === 'interest'
    ? { to: { interests: [interest] }, deliver: 'push', apns: { payload } }
    : { apns: { tokens: Array.from({ length: count }, (_, i) => benchToken(first + i)), payload } };
}

/** The daemon against the APNs fixture: E2E_ROUNDS of (interest, tokens), a row each, and the ratios of the rounds' means. */
async function sendEndToEnd(redis: BenchRedis): Promise<{ rows: Row[]; throughputRatio: number; cpuRatio: number }> {
  const fixture = await IpcChild.start(new URL('./lib/apns-fixture-worker.ts', import.meta.url));
  let herald: HeraldTarget | undefined;
  try {
    const info = await fixture.call<FixtureInfo>('start', { latencyMs: 0, maxConcurrentStreams: IN_FLIGHT });
    herald = await startHerald({
      config: {
        // The registry's key prefix, so the daemon resolves the interest registered above.
        redis: { url: redis.url, keyPrefix: 'bench' },
        queue: { prefix: 'bench-e2e', concurrency: QUEUE_CONCURRENCY, chunkSize: CHUNK_SIZE },
        apps: [benchApnsApp(info, IN_FLIGHT)],
      },
    });
    for (const shape of ['interest', 'tokens'] as const) {
      await postNotification(herald.baseUrl, notificationOf(shape, WARMUP_INTEREST, DEVICES, WARMUP));
      await waitForFixture(fixture, WARMUP, { idleMs: 10_000, timeoutMs: 60_000 });
      await fixture.call<FixtureSample>('sample');
    }
    const rows: Row[] = [];
    const perSecond: Record<Shape, number[]> = { interest: [], tokens: [] };
    const cpuPerToken: Record<Shape, number[]> = { interest: [], tokens: [] };
    for (let round = 1; round <= E2E_ROUNDS; round += 1) {
      for (const shape of round % 2 === 1 ? (['interest', 'tokens'] as const) : (['tokens', 'interest'] as const)) {
        const body = notificationOf(shape, INTEREST, 0, DEVICES);
        const cpu = { herald: cpuSeconds(herald.pid), redis: cpuSeconds(redis.pid) };
        const started = epochMs();
        await postNotification(herald.baseUrl, body);
        const acceptedAt = epochMs();
        const done = await waitForFixture(fixture, DEVICES, { idleMs: 10_000, timeoutMs: 600_000 });
        const sample = await fixture.call<FixtureSample>('sample');
        const heraldCpu = cpuSeconds(herald.pid) - cpu.herald;
        const redisCpu = cpuSeconds(redis.pid) - cpu.redis;
        if (sample.accepted !== DEVICES) throw new Error(`${shape} round ${round}: the fixture accepted ${sample.accepted} of ${DEVICES} (${done.refused} refused)`);
        const seconds = (sample.lastAnsweredAt - started) / 1000;
        const rate = sample.accepted / seconds;
        const micros = (s: number): number => (s * 1e6) / sample.accepted;
        perSecond[shape].push(rate);
        cpuPerToken[shape].push(micros(heraldCpu));
        rows.push({
          case: shape === 'interest' ? `e2e: interest of ${DEVICES} devices (deliver push)` : `e2e: ${DEVICES} tokens as apns.tokens`,
          round,
          'POST ms': acceptedAt - started,
          's to last answer': seconds,
          accepted: sample.accepted,
          duplicates: sample.duplicates,
          'tokens/s': Math.round(rate),
          'herald cpu µs/token': micros(heraldCpu),
          'redis cpu µs/token': micros(redisCpu),
        });
      }
    }
    return {
      rows,
      throughputRatio: mean(perSecond.interest) / mean(perSecond.tokens),
      cpuRatio: mean(cpuPerToken.interest) / mean(cpuPerToken.tokens),
    };
  } finally {
    await herald?.stop();
    await fixture.call('stop').catch(() => {});
    await fixture.stop();
  }
}

await main();
