/**
 * One notification of any shape to Herald's signed HTTP API (`POST /apps/{id}/notifications`),
 * for benches whose bodies the APNs submitters do not build (`to.users`, `to.interests`).
 * node:http on a fresh connection: one request per call, so nothing is kept between them.
 */
import { request } from 'node:http';
import { signQuery } from '../../src/lib/pusher-signing.js';
import { BENCH_APP } from './targets.js';

const path = `/apps/${BENCH_APP.id}/notifications`;

/** Posts `notification` (its `v` and `app` are filled in); resolves with the answer's body once Herald answers 202. */
export function postNotification(baseUrl: string, notification: Record<string, unknown>): Promise<string> {
  const body = JSON.stringify({ v: 1, app: BENCH_APP.id, ...notification });
  const query = new URLSearchParams(signQuery(BENCH_APP, 'POST', path, body)).toString();
  return new Promise<string>((resolve, reject) => {
    const req = request(`${baseUrl}${path}?${query}`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode === 202) resolve(text);
        else reject(new Error(`notification answered ${res.statusCode}: ${text.slice(0, 300)}`));
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
