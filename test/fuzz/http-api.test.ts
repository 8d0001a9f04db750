import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { PINNED_YOUNG_GENERATION, startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { answerProblem, rssBytes, runPool, send, sendRaw, signedPath } from './fuzz-http.js';
import type { FuzzApp, HttpCall } from './fuzz-http.js';
import { leakedSecrets } from './fuzz-secrets.js';
import { fuzzSeed } from './fuzz-seed.js';
import { mutatedNotification, parsePath } from './notification-arbitrary.js';
import type { PathPart } from './notification-arbitrary.js';

// The HTTP API is the second boundary. Generated query strings, bodies and raw bytes go
// to a running daemon, signed and unsigned: every answer is 2xx, or 4xx with a JSON
// `error`; never 5xx; the process stays up, its memory stays bounded, and no answer or
// log line carries an app secret.

const RUNS = 10_000;
const RAW_RUNS = 2_000;
const NOTIFICATION_RUNS = 3_000;
const CONCURRENCY = 8;
const app: FuzzApp = { id: 'fuzz', key: 'fuzz-key', secret: 'sEcReT-fuzz-7f3a9c21d0e4b5a6' };
const other: FuzzApp = { id: 'other', key: 'other-key', secret: 'sEcReT-other-0b1c2d3e4f5a6b7c' };
const secrets = [app.secret, other.secret];

let herald: HeraldProcess;
const problems: string[] = [];
const counts = new Map<number, number>();
let rssAfterWarmUp = 0;

before(async () => {
  herald = await startHeraldProcess({
    // A capped heap turns a leak into a crash (the process must stay up) instead of
    // growth hidden behind V8's lazy collection, and keeps the RSS comparison meaningful.
    env: { NODE_OPTIONS: `--max-old-space-size=96 ${PINNED_YOUNG_GENERATION}` },
    config: {
      server: { maxBodyBytes: 64 * 1024 },
      log: { level: 'debug' },
      apps: [app, { ...other, limits: { maxEventBatchSize: 3 } }],
    },
  });
});
after(async () => {
  const code = await herald.stop();
  assert.equal(code, 0, 'drains and exits 0 after the fuzzing');
});

async function check(call: HttpCall): Promise<void> {
  try {
    const answer = await send(herald.httpPort, call);
    counts.set(answer.status, (counts.get(answer.status) ?? 0) + 1);
    const problem = answerProblem(call, answer, secrets);
    if (problem) problems.push(problem);
  } catch (err) {
    problems.push(`${call.method} ${call.path.slice(0, 200)}: ${(err as Error).message}`);
  }
}

const text = (maxLength: number) => fc.string({ maxLength, unit: 'binary' });
const segment = fc.oneof(
  fc.constantFrom('presence-room', 'private-chat', 'public', 'cache-x', 'private-encrypted-x', '#', 'x'.repeat(600), '..', '%', '%zz'),
  text(40).map(encodeURIComponent),
);
const appId = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(app.id, other.id) }, { weight: 1, arbitrary: fc.oneof(fc.constant('nope'), text(20).map(encodeURIComponent)) });
const route = fc.oneof(
  fc.tuple(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'), appId).map(([m, id]) => [m, `/apps/${id}/events`] as const),
  appId.map((id) => ['POST', `/apps/${id}/batch_events`] as const),
  appId.map((id) => ['GET', `/apps/${id}/channels`] as const),
  fc.tuple(appId, segment).map(([id, s]) => ['GET', `/apps/${id}/channels/${s}`] as const),
  fc.tuple(appId, segment).map(([id, s]) => ['GET', `/apps/${id}/channels/${s}/users`] as const),
  fc.tuple(appId, segment).map(([id, s]) => ['POST', `/apps/${id}/users/${s}/terminate_connections`] as const),
  appId.map((id) => ['GET', `/apps/${id}/webhooks/dead-letters`] as const),
  appId.map((id) => ['POST', `/apps/${id}/webhooks/dead-letters/replay`] as const),
  appId.map((id) => ['POST', `/apps/${id}/notifications`] as const),
  fc.tuple(appId, segment).map(([id, s]) => ['GET', `/apps/${id}/notifications/${s}`] as const),
  fc.constantFrom(['GET', '/health'] as const, ['GET', '/ready'] as const, ['GET', '/app/fuzz-key'] as const, ['GET', '/metrics'] as const),
  fc.tuple(fc.constantFrom('GET', 'POST'), fc.array(segment, { maxLength: 4 })).map(([m, parts]) => [m, `/${parts.join('/')}`] as const),
);
const paramName = fc.oneof(fc.constantFrom('info', 'filter_by_prefix', 'limit', 'auth_key', 'auth_timestamp', 'auth_version', 'auth_signature', 'body_md5', 'socket_id', '__proto__', 'constructor'), text(12));
const paramValue = fc.oneof(fc.constantFrom('user_count', 'subscription_count,user_count', '-1', '1e309', 'presence-', '1.0', '', app.key), text(60));
const params = fc.dictionary(paramName, paramValue, { maxKeys: 5 });
/** Who signs: nobody, the app itself, the other app, or the app with a stale timestamp. */
const signer = fc.constantFrom('none', 'app', 'app', 'app', 'other', 'stale');

function pathFor(method: string, path: string, query: Record<string, string>, body: string | undefined, by: string, rawQuery: string): string {
  if (by === 'none') return rawQuery ? `${path}?${rawQuery}` : path;
  const signing = by === 'other' ? other : app;
  const now = Math.floor(Date.now() / 1000) - (by === 'stale' ? 601 : 0);
  // Signed over the path exactly as sent (percent-encoded), as the pusher SDK does.
  return signedPath(signing, method, path, body, query, now);
}

const rawQuery = fc.oneof(
  fc.constant(''),
  params.map((p) => new URLSearchParams(p).toString()),
  fc.array(fc.oneof(text(20).map(encodeURIComponent), fc.constantFrom('%', '%zz', '%E0%A4%A', '&&', '==', 'a[]=1', 'a[b]=2', 'a=1&a=2', '%00')), { maxLength: 6 }).map((parts) => parts.join('&')),
);

describe('fuzz: HTTP API against a running daemon', () => {
  it('warms up, then records the RSS baseline', async () => {
    await runPool(1_000, CONCURRENCY, () => check({ method: 'GET', path: signedPath(app, 'GET', `/apps/${app.id}/channels`, undefined, {}) }));
    rssAfterWarmUp = rssBytes(herald.child.pid ?? 0);
    assert.deepEqual(problems, []);
  });

  it(`${RUNS} generated query strings on every route, signed and unsigned`, async () => {
    problems.length = 0;
    const cases = fc.sample(fc.tuple(route, params, rawQuery, signer), { numRuns: RUNS, seed: fuzzSeed });
    await runPool(cases.length, CONCURRENCY, async (index) => {
      const [[method, path], query, raw, by] = cases[index]!;
      await check({ method, path: pathFor(method, path, query, undefined, by, raw) });
    });
    assert.deepEqual(problems.slice(0, 20), [], `${problems.length} bad answers`);
  });

  it(`${RUNS} generated bodies: Pusher-shaped events, random JSON, random bytes, wrong content types, oversized`, async () => {
    const event = fc.record(
      {
        name: fc.oneof(fc.constantFrom('my-event', 'pusher:x', 'client-x', 'x'.repeat(300)), text(30)),
        channel: fc.oneof(fc.constantFrom('my-channel', 'presence-room', 'private-x', '#bad', 'x'.repeat(300)), text(30)),
        channels: fc.oneof(fc.array(fc.oneof(fc.constantFrom('a', 'b', 'private-c'), text(20)), { maxLength: 120 }), fc.jsonValue({ maxDepth: 1 })),
        data: fc.oneof(text(200), fc.jsonValue({ maxDepth: 2 }), fc.constant('x'.repeat(20_000))),
        socket_id: fc.oneof(fc.constantFrom('123.456', '1.2', '-1.-1', ''), text(20)),
        info: fc.oneof(fc.constantFrom('user_count', 'subscription_count', 'bogus'), text(20)),
        ids: fc.array(text(10), { maxLength: 3 }),
      },
      { requiredKeys: [] },
    );
    const json = fc.oneof(
      { weight: 4, arbitrary: event.map((e) => JSON.stringify(e)) },
      { weight: 2, arbitrary: fc.array(event, { maxLength: 12 }).map((batch) => JSON.stringify({ batch })) },
      { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? 'null') },
      { weight: 1, arbitrary: fc.tuple(event, fc.nat(), text(3)).map(([e, at, junk]) => { const s = JSON.stringify(e); const i = at % (s.length + 1); return s.slice(0, i) + junk + s.slice(i + 1); }) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2_000 }).map((bytes) => Buffer.from(bytes).toString('latin1')) },
      { weight: 1, arbitrary: fc.constantFrom('{"name":"e","channel":"c","data":"' + 'x'.repeat(70 * 1024) + '"}', '{"a":' + '['.repeat(5_000) + ']'.repeat(5_000) + '}', '{"__proto__":{"polluted":1},"name":"e","channel":"c","data":"d"}') },
    );
    const contentType = fc.constantFrom('application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', '', 'application/json; charset=latin1');
    const postRoute = route.filter(([method]) => method === 'POST');
    problems.length = 0;
    const cases = fc.sample(fc.tuple(postRoute, json, contentType, signer), { numRuns: RUNS, seed: fuzzSeed + 1 });
    await runPool(cases.length, CONCURRENCY, async (index) => {
      const [[method, path], body, type, by] = cases[index]!;
      const headers: Record<string, string> = type ? { 'content-type': type } : {};
      await check({ method, path: pathFor(method, path, {}, body, by, ''), body: Buffer.from(body, 'latin1').length === body.length ? Buffer.from(body, 'latin1') : body, headers });
    });
    assert.deepEqual(problems.slice(0, 20), [], `${problems.length} bad answers`);
  });

  it(`${RAW_RUNS} raw byte streams: malformed HTTP is answered with a JSON error or closed, never crashes`, async () => {
    const requestLine = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 512 }).map((b) => Buffer.from(b)),
      fc.tuple(fc.constantFrom('GET', 'POST', 'G\u0000T', 'BREW', ''), text(40), fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9', ''), fc.array(fc.tuple(text(20), text(40)), { maxLength: 6 }), text(100)).map(([m, p, v, hs, body]) =>
        Buffer.from(`${m} /${p} ${v}\r\n${hs.map(([k, val]) => `${k}: ${val}`).join('\r\n')}\r\n\r\n${body}`, 'latin1'),
      ),
      fc.constantFrom(
        Buffer.from('POST /apps/fuzz/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n'),
        Buffer.from('POST /apps/fuzz/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'),
        Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n'),
        Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab'),
        Buffer.from('GET /app/fuzz-key HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 99\r\n\r\n'),
      ),
    );
    problems.length = 0;
    const cases = fc.sample(requestLine, { numRuns: RAW_RUNS, seed: fuzzSeed + 2 });
    await runPool(cases.length, CONCURRENCY, async (index) => {
      const bytes = cases[index]!;
      const answer = await sendRaw(herald.httpPort, bytes).catch((err: Error) => ({ status: -1, text: err.message }));
      if (answer.status === -1 || (answer.status !== undefined && answer.status >= 500)) problems.push(`raw ${JSON.stringify(bytes.toString('latin1').slice(0, 120))} → ${answer.text.slice(0, 200)}`);
      if (leakedSecrets(answer.text, secrets).length > 0) problems.push(`raw answer leaks a secret: ${answer.text.slice(0, 200)}`);
    });
    assert.deepEqual(problems.slice(0, 20), [], `${problems.length} bad answers`);
  });

  it(`${NOTIFICATION_RUNS} notification bodies with one change each: 202/200 or a 400 whose path points into the body`, async () => {
    problems.length = 0;
    const cases = fc.sample(mutatedNotification(app.id), { numRuns: NOTIFICATION_RUNS, seed: fuzzSeed + 3 });
    await runPool(cases.length, CONCURRENCY, async (index) => {
      const { input } = cases[index]!;
      const body = JSON.stringify(input);
      const call = { method: 'POST', path: signedPath(app, 'POST', `/apps/${app.id}/notifications`, body, {}), body, headers: { 'content-type': 'application/json' } };
      const answer = await send(herald.httpPort, call);
      counts.set(answer.status, (counts.get(answer.status) ?? 0) + 1);
      const problem = answerProblem(call, answer, secrets);
      if (problem) return void problems.push(problem);
      if (![200, 202, 400, 409].includes(answer.status)) return void problems.push(`unexpected ${answer.status}: ${answer.text.slice(0, 200)}`);
      if (answer.status !== 400) return;
      const { path } = JSON.parse(answer.text) as { path?: unknown };
      if (typeof path !== 'string') return void problems.push(`400 without a path: ${answer.text.slice(0, 200)}`);
      let node: unknown = input;
      for (const part of parsePath(path).slice(0, -1)) node = node !== null && typeof node === 'object' ? (node as Record<PathPart, unknown>)[part] : undefined;
      if (path !== '' && (node === null || typeof node !== 'object')) problems.push(`400 path '${path}' is not in the body: ${body.slice(0, 200)}`);
    });
    assert.deepEqual(problems.slice(0, 20), [], `${problems.length} bad answers`);
  });

  it('afterwards: alive, serving, memory bounded, no error logged, no secret in any log line', async () => {
    assert.equal(herald.child.exitCode, null, 'process alive');
    const health = await send(herald.httpPort, { method: 'GET', path: '/health' });
    assert.equal(health.status, 200);
    const publish = JSON.stringify({ name: 'after', channel: 'after-fuzz', data: '{}' });
    const ok = await send(herald.httpPort, { method: 'POST', path: signedPath(app, 'POST', `/apps/${app.id}/events`, publish, {}), body: publish, headers: { 'content-type': 'application/json' } });
    assert.equal(ok.status, 200, ok.text);
    const rss = rssBytes(herald.child.pid ?? 0);
    const growth = rss - rssAfterWarmUp;
    console.log(`answers by status: ${JSON.stringify(Object.fromEntries([...counts].sort(([a], [b]) => a - b)))}`);
    console.log(`RSS after warm-up ${(rssAfterWarmUp / 2 ** 20).toFixed(1)} MiB, after ${2 * RUNS + RAW_RUNS + NOTIFICATION_RUNS} inputs ${(rss / 2 ** 20).toFixed(1)} MiB`);
    // Bounded, not flat: V8 grows its heap lazily. A leak of even 1 KiB per request would exceed this.
    assert.ok(growth < 32 * 2 ** 20, `RSS grew by ${(growth / 2 ** 20).toFixed(1)} MiB`);
    const lines = herald.lines.join('\n');
    assert.deepEqual(leakedSecrets(lines, secrets), [], 'no secret in the logs');
    const errors = herald.logs().filter((line) => Number(line.level) >= 50);
    assert.deepEqual(errors.slice(0, 5), [], 'nothing logged at error level');
    assert.ok(herald.logs().filter((line) => line.msg === 'http request').every((line) => typeof line.reqId === 'string'), 'every HTTP log line has a request id');
  });
});
