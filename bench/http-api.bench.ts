/**
 * HTTP API: signed `POST /apps/{id}/events` requests per second at a fixed concurrency,
 * with latency, against a bare fastify route that answers {} (the framework's floor).
 *
 *   npm run bench -- http-api [--quick]
 */
import { signQuery } from '../src/lib/pusher-signing.js';
import { runAutocannon } from './lib/autocannon.js';
import type { AutocannonResult } from './lib/autocannon.js';
import { IpcChild } from './lib/ipc.js';
import { cpuSeconds } from './lib/proc.js';
import { quick, report } from './lib/report.js';
import type { Row } from './lib/report.js';
import { ratio } from './lib/stats.js';
import { BENCH_APP, startHerald } from './lib/targets.js';

const CONNECTIONS = 50;
const DURATION_SECONDS = quick ? 3 : 10;
const WARMUP_SECONDS = quick ? 1 : 2;

const path = `/apps/${BENCH_APP.id}/events`;
const body = JSON.stringify({ name: 'bench', channel: 'bench-api', data: JSON.stringify({ orderId: 1234, status: 'shipped' }) });

interface Measured {
  readonly row: Row;
  readonly perSecond: number;
  readonly cpuMicrosPerRequest: number;
}

async function measure(name: string, pid: number, baseUrl: string): Promise<Measured> {
  // Signed once, just before the run: a signature stays valid for 600 s, and the server's work per request is the same.
  const url = `${baseUrl}${path}?${new URLSearchParams(signQuery(BENCH_APP, 'POST', path, body)).toString()}`;
  const options = { url, method: 'POST' as const, headers: { 'content-type': 'application/json' }, body, connections: CONNECTIONS };
  await runAutocannon({ ...options, duration: WARMUP_SECONDS });
  const cpuBefore = cpuSeconds(pid);
  const result: AutocannonResult = await runAutocannon({ ...options, duration: DURATION_SECONDS });
  const cpu = cpuSeconds(pid) - cpuBefore;
  const completed = result['2xx'];
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${name}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return {
    perSecond: result.requests.average,
    cpuMicrosPerRequest: (cpu * 1e6) / completed,
    row: {
      server: name,
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
  const barePort = await bare.call<number>('listen');
  const herald = await startHerald();
  try {
    const baseline = await measure('bare fastify', bare.pid, `http://127.0.0.1:${barePort}`);
    const measured = await measure('herald', herald.pid, herald.baseUrl);
    report('http-api', [baseline.row, measured.row], {
      'throughput herald/fastify': ratio(measured.perSecond, baseline.perSecond),
      'cpu efficiency fastify/herald (µs/req ÷ µs/req)': ratio(baseline.cpuMicrosPerRequest, measured.cpuMicrosPerRequest),
      route: `POST ${path} (no subscribers)`,
    });
  } finally {
    await herald.stop();
    await bare.stop();
  }
}

await main();
