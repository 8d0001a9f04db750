/**
 * Notifications to Herald over its signed HTTP API, the way an application server
 * would send them: one keep-alive connection per request in flight, every request
 * signed. N × 1 goes through keep-alive-poster.ts, a minimal HTTP/1.1 client, unless
 * BENCH_APNS_HTTP_CLIENT=node:http asks for node's client (which costs the shared cores
 * several times the CPU per request; fetch costs more again).
 */
import { Agent, request } from 'node:http';
import { signQuery } from '../../src/lib/pusher-signing.js';
import { benchToken } from './apns-tokens.js';
import { epochMs } from './clock.js';
import { KeepAlivePoster } from './keep-alive-poster.js';
import { publishWindowed } from './publisher.js';
import { BENCH_APP } from './targets.js';

const alert = { title: 'Shipped', body: 'Your order 1234 is on its way' };
const path = `/apps/${BENCH_APP.id}/notifications`;

/** The body and signed target of one notification to `tokens`; `t` in the payload is the moment of the POST. */
function signedPost(tokens: string[]): { target: string; body: string } {
  const body = JSON.stringify({ v: 1, app: BENCH_APP.id, apns: { tokens, payload: { aps: { alert }, t: epochMs() } } });
  return { target: `${path}?${new URLSearchParams(signQuery(BENCH_APP, 'POST', path, body)).toString()}`, body };
}

/** A POST answered other than 202, with the start of the answer. */
function notAccepted(status: number | undefined, body: string): Error {
  return new Error(`notification answered ${status}: ${body.slice(0, 300)}`);
}

/** POST /apps/{id}/notifications through node:http. */
function submit(baseUrl: string, agent: Agent, tokens: string[]): Promise<void> {
  const { target, body } = signedPost(tokens);
  return new Promise<void>((resolve, reject) => {
    const req = request(`${baseUrl}${target}`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        if (res.statusCode === 202) resolve();
        else reject(notAccepted(res.statusCode, Buffer.concat(chunks).toString('utf8')));
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
  if (process.env.BENCH_APNS_HTTP_CLIENT === 'node:http') {
    const agent = new Agent({ keepAlive: true, maxSockets: window });
    try {
      await publishWindowed(count, window, (i) => submit(baseUrl, agent, [benchToken(firstToken + i)]));
    } finally {
      agent.destroy();
    }
    return;
  }
  const posters = await Promise.all(Array.from({ length: Math.min(window, count) }, () => KeepAlivePoster.open(baseUrl)));
  let next = 0;
  const lane = async (poster: KeepAlivePoster): Promise<void> => {
    while (next < count) {
      const { target, body } = signedPost([benchToken(firstToken + next++)]);
      const answer = await poster.post(target, body);
      if (answer.status !== 202) throw notAccepted(answer.status, answer.body);
    }
  };
  try {
    await Promise.all(posters.map(lane));
  } finally {
    for (const poster of posters) poster.close();
  }
}
