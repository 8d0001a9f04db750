/**
 * HTTP API: signed `POST /apps/{id}/events` requests per second at a fixed concurrency,
 * with latency, against a bare fastify route that answers {} (the framework's floor).
 * BENCH_BEFORE_CLI adds an earlier build, measured in the same rounds.
 *
 *   npm run bench -- http-api [--quick]
 */
import { signQuery } from '../src/lib/pusher-signing.js';
import { runAutocannon } from './lib/autocannon.js';
import type { AutocannonResult } from './lib/autocannon.js';
import { IpcChild } from './lib/ipc.js';
import { cpuSeconds } from './lib/proc.js';
import { quick, report } from './lib/report.js';
import { alternatingRounds, ratio, runTotals } from './lib/stats.js';
import type { MeasuredRow } from './lib/stats.js';
import { BENCH_APP, heraldBuilds, startHerald } from './lib/targets.js';
import type { HeraldTarget } from './lib/targets.js';

const CONNECTIONS = 50;
const DURATION_SECONDS = quick ? 3 : 10;
const WARMUP_SECONDS = quick ? 1 : 2;

const path = `/apps/${BENCH_APP.id}/events`;
const body = JSON.stringify({ name: 'bench', channel: 'bench-api', data: JSON.stringify({ orderId: 1234, status: 'shipped' }) });

/** A server under test: the bare fastify baseline or a Herald build. */
interface Server {
  readonly name: string;
  readonly pid: number;
  readonly baseUrl: string;
}

/**
 * Rounds: the full run measures every server three times, each round in the opposite
 * order to the one before, so no server always runs first or right after another; the
 * ratios come from the totals of all rounds. BENCH_HTTP_API_ROUNDS overrides the count.
 */
const ROUNDS = Number(process.env.BENCH_HTTP_API_ROUNDS ?? (quick ? 1 : 3));

async function measure(server: Server): Promise<MeasuredRow> {
  // Signed once, just before the run: a signature stays valid for 600 s, and the server's work per request is the same.
  const url = `${server.baseUrl}${path}?${new URLSearchParams(signQuery(BENCH_APP, 'POST', path, body)).toString()}`;
  const options = { url, method: 'POST' as const, headers: { 'content-type': 'application/json' }, body, connections: CONNECTIONS };
  await runAutocannon({ ...options, duration: WARMUP_SECONDS });
  const cpuBefore = cpuSeconds(server.pid);
  const result: AutocannonResult = await runAutocannon({ ...options, duration: DURATION_SECONDS });
  const cpu = cpuSeconds(server.pid) - cpuBefore;
  const completed = result['2xx'];
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${server.name}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return {
    units: completed,
    seconds: DURATION_SECONDS,
    cpuSeconds: cpu,
    row: {
      server: server.name,
      connections: CONNECTIONS,
      seconds: DURATION_SECONDS,
      requests: completed,
      'req/s': Math.round(result.requests.average),
      'p50 ms': result.latency.p50,
      'p99 ms': result.latency.p99,
      'max ms': result.latency.max,
      'server cpu s': cpu,
      'cpu µs/req': (cpu * 1e6) / completed,
    },
  };
}

async function main(): Promise<void> {
  const bare = await IpcChild.start(new URL('./lib/bare-fastify-server.ts', import.meta.url));
  const heralds: HeraldTarget[] = [];
  try {
    const barePort = await bare.call<number>('listen');
    // Idle between their runs: a daemon waiting for requests takes no CPU worth counting from the one measured.
    for (const build of heraldBuilds()) heralds.push(await startHerald({ build }));
    const servers: Server[] = [{ name: 'bare fastify', pid: bare.pid, baseUrl: `http://127.0.0.1:${barePort}` }, ...heralds];
    const { runs, rows } = await alternatingRounds(servers, ROUNDS, measure);
    const [baselineServer, ...measuredServers] = servers;
    const baseline = runTotals(runs.get(baselineServer as Server) ?? []);
    const ratios: Record<string, number> = {};
    for (const server of measuredServers) {
      const measured = runTotals(runs.get(server) ?? []);
      ratios[`throughput ${server.name}/fastify`] = ratio(measured.perSecond, baseline.perSecond);
      ratios[`cpu efficiency fastify/${server.name} (µs/req ÷ µs/req)`] = ratio(baseline.cpuMicrosPerUnit, measured.cpuMicrosPerUnit);
      ratios[`cpu µs/req ${server.name}`] = measured.cpuMicrosPerUnit;
    }
    ratios['cpu µs/req bare fastify'] = baseline.cpuMicrosPerUnit;
    report('http-api', rows, { ...ratios, rounds: ROUNDS, route: `POST ${path} (no subscribers)` });
  } finally {
    for (const herald of heralds) await herald.stop();
    await bare.stop();
  }
}

await main();
