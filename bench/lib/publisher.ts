import { signQuery } from '../../src/lib/pusher-signing.js';

export interface BenchApp {
  readonly id: string;
  readonly key: string;
  readonly secret: string;
}

/** Publishes one channel event over the HTTP API; rejects on any status but 200. */
export type Publish = (channel: string, event: string, data: string) => Promise<void>;

/** `POST /apps/{id}/events`, signed the way the pusher SDK signs (a fresh signature per request). */
export function signedPublisher(baseUrl: string, app: BenchApp): Publish {
  const path = `/apps/${app.id}/events`;
  return async (channel, event, data) => {
    const body = JSON.stringify({ name: event, channel, data });
    const query = new URLSearchParams(signQuery(app, 'POST', path, body)).toString();
    await post(`${baseUrl}${path}?${query}`, body);
  };
}

/** The same request without a signature, for baselines that do not check one. */
export function plainPublisher(baseUrl: string, app: BenchApp): Publish {
  const url = `${baseUrl}/apps/${app.id}/events`;
  return (channel, event, data) => post(url, JSON.stringify({ name: event, channel, data }));
}

async function post(url: string, body: string): Promise<void> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`publish answered ${response.status}: ${text.slice(0, 200)}`);
}

/**
 * Calls `publishOne(i)` for i in [0, count) with at most `window` calls in flight,
 * in order of i.
 */
export async function publishWindowed(count: number, window: number, publishOne: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) await publishOne(next++);
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, lane));
}
