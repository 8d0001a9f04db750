/**
 * The notification API's own cost: signed one-token `POST /apps/{id}/notifications` at
 * 64 in flight (the signed-HTTP row of the APNs bench), with delivery held, so Herald's
 * CPU per request is the request's alone: signature, validation, the group commit's
 * share of the Redis writes, the 202. Held by pausing the envelope queue (BullMQ's
 * pause): accepted notifications wait in Redis, as a backlog would. The baseline is a
 * bare fastify route answering 202 with an id and `Location`, keeping nothing.
 * BENCH_BEFORE_CLI adds an earlier build, measured in the same rounds.
 *
 *   npm run bench -- notification-intake [--quick]
 */
import { Queue } from 'bullmq';
import { submitIndividually } from './lib/apns-submit.js';
import { startBenchRedis } from './lib/bench-redis.js';
import type { BenchRedis } from './lib/bench-redis.js';
import { IpcChild } from './lib/ipc.js';
import { cpuSeconds } from './lib/proc.js';
import { countsBetween, redisCounts } from './lib/redis-stats.js';
import { quick, report } from './lib/report.js';
import { alternatingRounds, ratio, runTotals } from './lib/stats.js';
import type { MeasuredRow } from './lib/stats.js';
import { BENCH_APP, heraldBuilds, startHerald } from './lib/targets.js';
import type { HeraldBuild, HeraldTarget } from './lib/targets.js';

const IN_FLIGHT = 64;
const COUNT = quick ? 3_000 : 10_000;
const WARM_UP = Number(process.env.BENCH_INTAKE_WARM_UP ?? (quick ? 1_000 : 5_000));
const ROUNDS = Number(process.env.BENCH_INTAKE_ROUNDS ?? (quick ? 1 : 4));

/** A server under test: the bare fastify baseline, or a Herald build on the bench Redis. */
interface Server {
  readonly name: string;
  readonly pid: number;
  readonly baseUrl: string;
  /** Herald's: its Redis, where the requests' writes go. */
  readonly redis?: BenchRedis;
}

/** Every request a new notification: tokens are never reused across warm-ups, rounds or servers. */
let nextToken = 0;

async function submit(server: Server, count: number): Promise<void> {
  const first = nextToken;
  nextToken += count;
  await submitIndividually(server.baseUrl, first, count, IN_FLIGHT);
}

async function measure(server: Server): Promise<MeasuredRow> {
  await submit(server, WARM_UP);
  const { redis } = server;
  const before = { server: cpuSeconds(server.pid), redis: redis ? cpuSeconds(redis.pid) : 0, counts: redis ? await redisCounts(redis.url) : undefined, generator: process.cpuUsage() };
  const started = performance.now();
  await submit(server, COUNT);
  const seconds = (performance.now() - started) / 1000;
  const generator = process.cpuUsage(before.generator);
  const used = { server: cpuSeconds(server.pid) - before.server, redis: redis ? cpuSeconds(redis.pid) - before.redis : 0 };
  const ran = redis && before.counts ? countsBetween(before.counts, await redisCounts(redis.url)) : undefined;
  const perRequest = (value: number): number => value / COUNT;
  return {
    units: COUNT,
    seconds,
    cpuSeconds: used.server,
    row: {
      server: server.name,
      requests: COUNT,
      'in flight': IN_FLIGHT,
      seconds,
      'req/s': Math.round(COUNT / seconds),
      'server cpu µs/req': perRequest(used.server * 1e6),
      'redis cpu µs/req': perRequest(used.redis * 1e6),
      // A script call counts its commands inside.
      'redis cmds/req': ran ? perRequest(ran.commands) : 0,
      'redis scripts/req': ran ? perRequest(ran.scripts) : 0,
      'generator cpu µs/req': perRequest(generator.user + generator.system),
    },
  };
}

/** A Herald build on its own keys of the bench Redis, its envelope queue paused: nothing is delivered. */
async function startHeld(build: HeraldBuild, redis: BenchRedis, index: number): Promise<{ target: HeraldTarget; queue: Queue }> {
  const prefix = `intake${index}`;
  const target = await startHerald({
    build,
    config: {
      redis: { url: redis.url, keyPrefix: prefix },
      queue: { prefix, partitions: 1 },
      apps: [{ ...BENCH_APP, apns: { topic: 'com.example.bench', dryRun: true } }],
    },
  });
  const queue = new Queue('notification-batches', { prefix, connection: { host: '127.0.0.1', port: redis.port } });
  await queue.pause();
  return { target, queue };
}

async function main(): Promise<void> {
  const bare = await IpcChild.start(new URL('./lib/bare-fastify-server.ts', import.meta.url));
  const redis = await startBenchRedis();
  const held: Array<{ target: HeraldTarget; queue: Queue }> = [];
  try {
    const barePort = await bare.call<number>('listen');
    for (const [index, build] of heraldBuilds().entries()) held.push(await startHeld(build, redis, index));
    const servers: Server[] = [{ name: 'bare fastify', pid: bare.pid, baseUrl: `http://127.0.0.1:${barePort}` }, ...held.map(({ target }) => ({ name: target.name, pid: target.pid, baseUrl: target.baseUrl, redis }))];
    const { runs, rows } = await alternatingRounds(servers, ROUNDS, measure);
    const [baselineServer, ...heraldServers] = servers;
    const baseline = runTotals(runs.get(baselineServer as Server) ?? []);
    const ratios: Record<string, number> = { 'cpu µs/req bare fastify': baseline.cpuMicrosPerUnit };
    for (const server of heraldServers) {
      const measured = runTotals(runs.get(server) ?? []);
      ratios[`cpu µs/req ${server.name}`] = measured.cpuMicrosPerUnit;
      ratios[`cpu ${server.name} ÷ bare fastify`] = ratio(measured.cpuMicrosPerUnit, baseline.cpuMicrosPerUnit);
      ratios[`throughput ${server.name} ÷ bare fastify`] = ratio(measured.perSecond, baseline.perSecond);
    }
    report('notification-intake', rows, { ...ratios, rounds: ROUNDS, warmUp: WARM_UP, route: `POST /apps/${BENCH_APP.id}/notifications, one token each, delivery held` });
  } finally {
    for (const { target, queue } of held) {
      await queue.close();
      await target.stop();
    }
    await redis.stop();
    await bare.stop();
  }
}

await main();
