/**
 * Notifications to Herald over its signed HTTP API, the way an application server
 * would send them: node:http on keep-alive connections, one per request in flight
 * (node's client costs a fraction of fetch's CPU, which would otherwise take the
 * shared cores from the daemon under test).
 */
import { Agent, request } from 'node:http';
import { signQuery } from '../../src/lib/pusher-signing.js';
import { benchToken } from './apns-tokens.js';
import { epochMs } from './clock.js';
import { publishWindowed } from './publisher.js';
import { BENCH_APP } from './targets.js';

const alert = { title: 'Shipped', body: 'Your order 1234 is on its way' };
const path = `/apps/${BENCH_APP.id}/notifications`;

/** POST /apps/{id}/notifications; `t` in the payload is the moment of the POST. */
function submit(baseUrl: string, agent: Agent, tokens: string[]): Promise<void> {
  const body = JSON.stringify({ v: 1, app: BENCH_APP.id, apns: { tokens, payload: { aps: { alert }, t: epochMs() } } });
  const query = new URLSearchParams(signQuery(BENCH_APP, 'POST', path, body)).toString();
  return new Promise<void>((resolve, reject) => {
    const req = request(`${baseUrl}${path}?${query}`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        if (res.statusCode === 202) resolve();
        else reject(new Error(`notification answered ${res.statusCode}: ${Buffer.concat(chunks).toString('utf8').slice(0, 300)}`));
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** One notification to `count` tokens. */
export async function submitBroadcast(baseUrl: string, firstToken: number, count: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    await submit(baseUrl, agent, Array.from({ length: count }, (_, i) => benchToken(firstToken + i)));
  } finally {
    agent.destroy();
  }
}

/** `count` notifications of one token each, `window` requests in flight. */
export async function submitIndividually(baseUrl: string, firstToken: number, count: number, window: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: window });
  try {
    await publishWindowed(count, window, (i) => submit(baseUrl, agent, [benchToken(firstToken + i)]));
  } finally {
    agent.destroy();
  }
}
