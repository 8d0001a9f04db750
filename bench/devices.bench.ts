/**
 * Users and interests on Redis: what resolving a notification's targets costs, beside the
 * same notification given as a token list. For an interest of 100,000 APNs devices: paging
 * the interest out of the device registry and recording the resolution (the token list cut
 * into chunks, StatusStore.saveTargets) against parsing and normalising 100,000 explicit
 * tokens (what a token-list notification costs before its chunks are cut). Sending is the
 * same for both from there on (the same chunk jobs), so it is not repeated here. Then the
 * online check: one `onlineUsers` call for 1,000 users, half signed in, on the gateway's
 * Redis channel state; time per user.
 *
 *   npm run bench -- devices [--quick]
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisDeviceRegistry } from '../src/devices/redis-device-registry.js';
import { UserSignins } from '../src/gateway/user-signins.js';
import { RedisChannelState } from '../src/gateway/state/redis/redis-channel-state.js';
import { silentLogger } from '../src/log/logger.js';
import { parseNotification } from '../src/notifications/contract/parse-notification.js';
import { TargetResolver } from '../src/notifications/pipeline/targets.js';
import { RedisStatusStore } from '../src/notifications/status/redis-status-store.js';
import { startBenchRedis } from './lib/bench-redis.js';
import { quick, report } from './lib/report.js';
import type { Row } from './lib/report.js';

const DEVICES = quick ? 20_000 : 100_000;
const USERS = 1_000;
const ROUNDS = quick ? 2 : 5;
const CHUNK_SIZE = 500;
const APP = 'bench';

const ms = (from: bigint): number => Number(process.hrtime.bigint() - from) / 1e6;
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

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
    const tokens = Array.from({ length: DEVICES }, () => randomBytes(32).toString('hex'));
    for (let from = 0; from < tokens.length; from += 1_000) {
      await Promise.all(tokens.slice(from, from + 1_000).map((token, i) => registry.put(APP, { token, userId: `u${from + i}`, platform: 'apns', interests: ['everyone'], updatedAt: 1 })));
    }
    const resolver = new TargetResolver({ devices: registry, presence: signins, chunkSize: CHUNK_SIZE });
    const payload = { aps: { alert: 'hi' } };

    const asInterest: number[] = [];
    const asTokens: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const ref = { app: APP, id: `interest-${round}` };
      await store.create({ ...ref, createdAt: Date.now(), tokens: 0, chunks: 0, active: true });
      let started = process.hrtime.bigint();
      const parsed = parseNotification({ v: 1, app: APP, id: ref.id, to: { interests: ['everyone'] }, apns: { payload } });
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
    report('devices', rows, { ratio_interest_over_tokens: interestMs / tokensMs, rounds: ROUNDS, chunkSize: CHUNK_SIZE });
  } finally {
    await state.stop(AbortSignal.timeout(5_000)).catch(() => undefined);
    for (const c of clients) c.disconnect();
    await redis.stop();
  }
}

await main();
