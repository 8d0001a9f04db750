import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { rssBytes, runPool } from './fuzz-http.js';
import { fuzzSeed, leakedSecrets } from './fuzz-secrets.js';
import { frameProblem, openPusherSocket } from './fuzz-ws.js';
import type { PusherSocket } from './fuzz-ws.js';

// WebSocket frames are the third boundary: whatever a client sends — random text, random
// JSON, Pusher-shaped frames with wrong fields, binary, oversized — the server answers
// with Pusher errors, keeps the socket (unless the protocol says to close it), stays up,
// and serves normal clients afterwards. No frame reveals the secret or a valid signature.

const RUNS = 10_000;
const SOCKETS = 8;
const MAX_PAYLOAD = 64 * 1024;
const app = { id: 'ws', key: 'ws-key', secret: 'sEcReT-ws-9a8b7c6d5e4f3a2b' };

let herald: HeraldProcess;
before(async () => {
  herald = await startHeraldProcess({
    env: { NODE_OPTIONS: '--max-old-space-size=96' },
    config: { gateway: { maxPayloadBytes: MAX_PAYLOAD }, log: { level: 'debug' }, apps: [app] },
  });
});
after(async () => {
  assert.equal(await herald.stop(), 0);
  assert.deepEqual(leakedSecrets(herald.lines.join('\n'), [app.secret]), [], 'no secret in any log line');
});

const open = () => openPusherSocket(herald.httpPort, app.key);
const text = (maxLength: number) => fc.string({ maxLength, unit: 'binary' });
const channel = fc.oneof(
  fc.constantFrom('public', 'private-room', 'presence-room', 'private-encrypted-room', '#server-to-user-1', 'cache-x', 'private-cache-x', '', ' ', 'a'.repeat(300), 'a:b', 'presence-'),
  text(30),
  fc.jsonValue({ maxDepth: 1 }),
);
const data = fc.oneof(
  fc.record(
    {
      channel,
      auth: fc.oneof(fc.constantFrom(`${app.key}:${'0'.repeat(64)}`, 'nokey', `${app.key}:`, ':'), text(80), fc.jsonValue({ maxDepth: 1 })),
      channel_data: fc.oneof(fc.constantFrom('{"user_id":"u1"}', '{"user_id":1}', '{}', 'not json', '{"user_id":"u","user_info":' + '"x"'.repeat(1) + '}'), fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v))),
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue({ maxDepth: 3 }),
  text(100),
);
const event = fc.oneof(
  fc.constantFrom('pusher:subscribe', 'pusher:subscribe', 'pusher:unsubscribe', 'pusher:ping', 'pusher:pong', 'client-x', 'client-', 'pusher_internal:subscription_succeeded', 'pusher:nope', 'x'),
  text(30),
  fc.jsonValue({ maxDepth: 1 }),
);
/** Text or binary, as the client sends it. Sign-in is fuzzed on its own: a refused sign-in closes the socket by design. */
const frame = fc.oneof(
  { weight: 5, arbitrary: fc.record({ event, data, channel }, { requiredKeys: [] }).map((f) => ({ payload: JSON.stringify(f), binary: false })) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => ({ payload: JSON.stringify(v) ?? 'null', binary: false })) },
  { weight: 2, arbitrary: text(200).map((t) => ({ payload: t, binary: false })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => ({ payload: Buffer.from(b), binary: true })) },
);

/** The valid channel signature for `channel` on this socket: the server must never send it. */
const signatureFor = (socketId: string, channel: unknown) => createHmac('sha256', app.secret).update(`${socketId}:${String(channel)}`).digest('hex');

function channelOf(payload: string): unknown {
  try {
    const parsed = JSON.parse(payload) as { data?: { channel?: unknown } } | null;
    return parsed?.data && typeof parsed.data === 'object' ? parsed.data.channel : undefined;
  } catch {
    return undefined;
  }
}

function socketProblems(socket: PusherSocket, forbidden: Set<string>): string[] {
  const problems: string[] = [];
  socket.frames.forEach((f, i) => {
    const problem = frameProblem(f, socket.raw[i] ?? '');
    if (problem) problems.push(problem);
  });
  const all = socket.raw.join('\n');
  for (const secret of [app.secret, ...forbidden]) if (all.includes(secret)) problems.push(`a frame carries a secret or valid signature (${secret.slice(0, 12)}…)`);
  return problems;
}

describe('fuzz: WebSocket frames', () => {
  it(`${RUNS} generated frames over ${SOCKETS} sockets: Pusher errors, sockets stay open, every frame processed`, async () => {
    const cases = fc.sample(frame, { numRuns: RUNS, seed: fuzzSeed });
    const rssBefore = rssBytes(herald.child.pid ?? 0);
    const problems: string[] = [];
    let errors = 0;
    await runPool(SOCKETS, SOCKETS, async (worker) => {
      const socket = await open();
      const forbidden = new Set<string>();
      for (let i = worker; i < cases.length; i += SOCKETS) {
        const { payload, binary } = cases[i]!;
        if (typeof payload === 'string') {
          const channelName = channelOf(payload);
          if (channelName !== undefined) forbidden.add(signatureFor(socket.socketId, channelName));
        }
        socket.ws.send(payload, { binary });
        // Let the server drain now and then, as a real client would between bursts.
        if (i % 500 === worker) await socket.roundTrip();
      }
      await socket.roundTrip();
      assert.equal(socket.ws.readyState, socket.ws.OPEN, 'socket still open after its frames');
      problems.push(...socketProblems(socket, forbidden));
      errors += socket.frames.filter((f) => f.event === 'pusher:error' || f.event === 'pusher:subscription_error').length;
      socket.ws.close();
      await socket.closed;
    });
    const rssAfter = rssBytes(herald.child.pid ?? 0);
    console.log(`frames: ${RUNS} sent, ${errors} answered with an error; RSS ${(rssBefore / 2 ** 20).toFixed(1)} → ${(rssAfter / 2 ** 20).toFixed(1)} MiB`);
    // The heap is capped (NODE_OPTIONS above): a leak would crash the process; this bounds the rest.
    assert.ok(rssAfter - rssBefore < 48 * 2 ** 20, `RSS grew by ${((rssAfter - rssBefore) / 2 ** 20).toFixed(1)} MiB`);
    assert.deepEqual(problems.slice(0, 10), []);
    assert.ok(errors > RUNS / 4, 'bad frames are answered, not ignored');
  });

  it('1,000 generated sign-ins: refused ones get a 4009 close, the server stays up', async () => {
    const signins = fc.sample(fc.record({ user_data: fc.oneof(text(60), fc.constantFrom('{"id":"u1"}', '{"id":""}', '{}'), fc.jsonValue({ maxDepth: 1 })), auth: fc.oneof(text(80), fc.constant(`${app.key}:${'f'.repeat(64)}`)) }, { requiredKeys: [] }), { numRuns: 1_000, seed: fuzzSeed + 1 });
    const codes = new Map<string, number>();
    await runPool(signins.length, 16, async (index) => {
      const socket = await open();
      socket.ws.send(JSON.stringify({ event: 'pusher:signin', data: signins[index] }));
      const outcome = await socket.roundTrip().then(
        () => 'open',
        async () => String((await socket.closed).code),
      );
      codes.set(outcome, (codes.get(outcome) ?? 0) + 1);
      assert.deepEqual(socketProblems(socket, new Set()), []);
      socket.ws.terminate();
    });
    console.log(`sign-ins: ${JSON.stringify(Object.fromEntries(codes))}`);
    assert.deepEqual([...codes.keys()].filter((code) => code !== '4009' && code !== 'open'), [], 'only 4009 closes');
  });

  it('an oversized frame closes only that socket with 1009, invalid UTF-8 with 1007; others keep working', async () => {
    const bystander = await open();
    const cases = [
      { what: 'text one byte over maxPayloadBytes', send: (s: PusherSocket) => s.ws.send('x'.repeat(MAX_PAYLOAD + 1)), code: 1009 },
      { what: '1 MiB binary', send: (s: PusherSocket) => s.ws.send(Buffer.alloc(2 ** 20), { binary: true }), code: 1009 },
      { what: 'invalid UTF-8 in a text frame', send: (s: PusherSocket) => s.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false }), code: 1007 },
    ];
    for (const { what, send, code } of cases) {
      const socket = await open();
      send(socket);
      assert.equal((await socket.closed).code, code, what);
    }
    const nearLimit = await open();
    nearLimit.ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'x'.repeat(MAX_PAYLOAD - 100) } }));
    const refused = await nearLimit.next((f) => f.event === 'pusher:subscription_error' || f.event === 'pusher:error');
    assert.ok(refused, 'a frame just under the limit is read and refused');
    await nearLimit.roundTrip();
    await bystander.roundTrip();
    const fresh = await open();
    fresh.ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'after-oversized' } }));
    await fresh.next((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === 'after-oversized');
    for (const s of [bystander, nearLimit, fresh]) s.ws.close();
    assert.equal(herald.child.exitCode, null);
  });
});
