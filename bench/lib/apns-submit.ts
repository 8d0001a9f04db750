import { signQuery } from '../../src/lib/pusher-signing.js';
import { benchToken } from './apns-tokens.js';
import { epochMs } from './clock.js';
import { publishWindowed } from './publisher.js';
import { BENCH_APP } from './targets.js';

const alert = { title: 'Shipped', body: 'Your order 1234 is on its way' };
const path = `/apps/${BENCH_APP.id}/notifications`;

/** POST /apps/{id}/notifications; `t` in the payload is the moment of the POST. */
async function submit(baseUrl: string, tokens: string[]): Promise<void> {
  const body = JSON.stringify({ v: 1, app: BENCH_APP.id, apns: { tokens, payload: { aps: { alert }, t: epochMs() } } });
  const query = new URLSearchParams(signQuery(BENCH_APP, 'POST', path, body)).toString();
  const response = await fetch(`${baseUrl}${path}?${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await response.text();
  if (response.status !== 202) throw new Error(`notification answered ${response.status}: ${text.slice(0, 300)}`);
}

/** One notification to `count` tokens. */
export function submitBroadcast(baseUrl: string, firstToken: number, count: number): Promise<void> {
  return submit(baseUrl, Array.from({ length: count }, (_, i) => benchToken(firstToken + i)));
}

/** `count` notifications of one token each, `window` requests in flight. */
export function submitIndividually(baseUrl: string, firstToken: number, count: number, window: number): Promise<void> {
  return publishWindowed(count, window, (i) => submit(baseUrl, [benchToken(firstToken + i)]));
}
