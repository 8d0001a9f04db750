import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { PINNED_YOUNG_GENERATION, startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { rssBytes, runPool } from './fuzz-http.js';
import { leakedSecrets } from './fuzz-secrets.js';
import { fuzzSeed } from './fuzz-seed.js';
import { frameProblem, jsonText, nestingDepth, openPusherSocket } from './fuzz-ws.js';
import type { PusherSocket } from './fuzz-ws.js';

// WebSocket frames are the third boundary: whatever a client sends — random text, random
// JSON, Pusher-shaped frames with wrong fields, binary, oversized — the server answers
// with Pusher errors, keeps the socket (unless the protocol says to close it), stays up,
// and serves normal clients afterwards. No frame reveals the secret or a valid signature.

const RUNS = 10_000;
const SOCKETS = 8;
const MAX_PAYLOAD = 64 * 1024;
const app = { id: 'ws', key: 'ws-key', secret: 'sEcReT-ws-9a8b7c6d5e4f3a2b' };
/** Limits opened up so deep and huge data gets past the size checks to every handler and the relay. */
const openApp = {
  id: 'ws-open',
  key: 'ws-open-key',
  secret: 'sEcReT-ws-open-0f1e2d3c4b5a',
  enableClientMessages: true,
  limits: { maxClientEventsPerSecond: -1, maxEventPayloadKb: 60, maxPresenceMemberSizeKb: 60 },
};

let herald: HeraldProcess;
before(async () => {
  herald = await startHeraldProcess({
    env: { NODE_OPTIONS: `--max-old-space-size=96 ${PINNED_YOUNG_GENERATION}` },
    config: { gateway: { maxPayloadBytes: MAX_PAYLOAD }, log: { level: 'debug' }, apps: [app, openApp] },
  });
});
after(async () => {
  assert.equal(await herald.stop(), 0);
  assert.deepEqual(leakedSecrets(herald.lines.join('\n'), [app.secret, openApp.secret]), [], 'no secret in any log line');
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
const signatureFor = (socketId: string, channel: string) => createHmac('sha256', app.secret).update(`${socketId}:${channel}`).digest('hex');

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
          // Only a string names a channel; an object such as {"toString":1} cannot even be stringified.
          if (typeof channelName === 'string') forbidden.add(signatureFor(socket.socketId, channelName));
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

// Past the first frame: every event type, with ordinary, deeply nested (64 to ~30,000
// levels) and huge data, sent by sockets that are signed in and have joined every kind
// of channel, so each handler and the client-event relay see it. A frame that once
// killed the process (client-event data thousands of levels deep) is among them.

const DEEP_RUNS = 3_000;
const DEEP_WORKERS = 4;
const sign = (text: string) => `${openApp.key}:${createHmac('sha256', openApp.secret).update(text).digest('hex')}`;
const userOf = (worker: number) => `u-w${worker}`;
/** Each worker's own channels, one of every kind: others' traffic stays off its sockets. */
const channelsOf = (worker: number) =>
  [`public-w${worker}`, `private-w${worker}`, `presence-w${worker}`, `private-encrypted-w${worker}`, `cache-w${worker}`, `private-cache-w${worker}`, `presence-cache-w${worker}`, `#server-to-user-${userOf(worker)}`] as const;
/** The channels a listener joins to receive the worker's relayed client events (user_id added on presence). */
const relayChannels = (worker: number) => [`private-w${worker}`, `presence-w${worker}`, `private-cache-w${worker}`, `presence-cache-w${worker}`];

type ChannelPick = { own: number } | { text: string } | { absent: true };
type DataPick = { text: string } | { signed: 'subscribe'; own: number; userInfo: string } | { signed: 'signin'; userInfo: string } | { shaped: Record<string, string> };
interface DeepCase {
  event: string;
  channel: ChannelPick;
  data: DataPick;
}

const deepCase: fc.Arbitrary<DeepCase> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      event: fc.oneof(
        fc.constantFrom('pusher:subscribe', 'pusher:unsubscribe', 'pusher:ping', 'pusher:pong', 'pusher:signin', 'client-fuzz', 'client-fuzz', 'client-fuzz', 'pusher:nope', 'pusher_internal:member_added', 'not-client'),
        text(20),
      ),
      channel: fc.oneof(
        { weight: 6, arbitrary: fc.integer({ min: 0, max: 7 }).map((own): ChannelPick => ({ own })) },
        { weight: 1, arbitrary: text(30).map((t): ChannelPick => ({ text: t })) },
        { weight: 1, arbitrary: fc.constant<ChannelPick>({ absent: true }) },
      ),
      data: fc.oneof(
        { weight: 3, arbitrary: jsonText(MAX_PAYLOAD - 200).map((t): DataPick => ({ text: t })) },
        {
          weight: 1,
          arbitrary: fc
            .record({ channel: jsonText(12_000), auth: jsonText(12_000), channel_data: jsonText(12_000), user_data: jsonText(12_000) }, { requiredKeys: [] })
            .map((shaped): DataPick => ({ shaped })),
        },
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ own: fc.integer({ min: 0, max: 7 }), userInfo: jsonText(25_000) })
      .map(({ own, userInfo }): DeepCase => ({ event: 'pusher:subscribe', channel: { absent: true }, data: { signed: 'subscribe', own, userInfo } })),
  },
  {
    weight: 1,
    arbitrary: jsonText(25_000).map((userInfo): DeepCase => ({ event: 'pusher:signin', channel: { absent: true }, data: { signed: 'signin', userInfo } })),
  },
);

/** The subscribe frame for one of the worker's own channels, signed as the app's auth endpoint would sign it. */
function subscribeData(socketId: string, channel: string, worker: number, userInfo = '{}'): string {
  if (channel.startsWith('presence-')) {
    const channelData = `{"user_id":${JSON.stringify(userOf(worker))},"user_info":${userInfo}}`;
    return `{"channel":${JSON.stringify(channel)},"auth":"${sign(`${socketId}:${channel}:${channelData}`)}","channel_data":${JSON.stringify(channelData)}}`;
  }
  const signed = channel.startsWith('private-');
  return `{"channel":${JSON.stringify(channel)}${signed ? `,"auth":"${sign(`${socketId}:${channel}`)}"` : ''}}`;
}

function signinData(socketId: string, worker: number, userInfo = '{}'): string {
  const userData = `{"id":${JSON.stringify(userOf(worker))},"user_info":${userInfo}}`;
  return `{"user_data":${JSON.stringify(userData)},"auth":"${sign(`${socketId}::user::${userData}`)}"}`;
}

/** The frame's text and, for a client event on a channel the listener joined, the exact text the listener must get. */
function deepFrame(c: DeepCase, socketId: string, worker: number): { text: string; channel: string | undefined; relayed: string | undefined } {
  const channel = 'own' in c.channel ? channelsOf(worker)[c.channel.own] : 'text' in c.channel ? c.channel.text : undefined;
  let data: string;
  if ('text' in c.data) data = c.data.text;
  else if ('shaped' in c.data) data = `{${Object.entries(c.data.shaped).map(([k, v]) => `"${k}":${v}`).join(',')}}`;
  else if (c.data.signed === 'signin') data = signinData(socketId, worker, c.data.userInfo);
  else data = subscribeData(socketId, channelsOf(worker)[c.data.own] ?? '', worker, c.data.userInfo);
  const text = `{"event":${JSON.stringify(c.event)}${channel === undefined ? '' : `,"channel":${JSON.stringify(channel)}`},"data":${data}}`;
  const relays = c.event.startsWith('client-') && channel !== undefined && relayChannels(worker).includes(channel);
  const relayed = relays ? (channel.startsWith('presence-') ? `${text.slice(0, -1)},"user_id":${JSON.stringify(userOf(worker))}}` : text) : undefined;
  return { text, channel, relayed };
}

/** Subscribes to each of `channels` (signed) and waits for every answer, joined or refused. */
async function join(socket: PusherSocket, worker: number, channels: readonly string[], as = userOf(worker)): Promise<Map<string, string>> {
  const from = socket.frames.length;
  for (const channel of channels) {
    const data = channel.startsWith('presence-') && as !== userOf(worker) ? subscribeAs(socket.socketId, channel, as) : subscribeData(socket.socketId, channel, worker);
    socket.ws.send(`{"event":"pusher:subscribe","data":${data}}`);
  }
  const answers = new Map<string, string>();
  for (const channel of channels) {
    const answer = await socket.next((f) => f.channel === channel && (f.event === 'pusher_internal:subscription_succeeded' || f.event === 'pusher:subscription_error'), 30_000, from);
    answers.set(channel, answer.event);
  }
  return answers;
}

function subscribeAs(socketId: string, channel: string, userId: string): string {
  const channelData = JSON.stringify({ user_id: userId });
  return JSON.stringify({ channel, auth: sign(`${socketId}:${channel}:${channelData}`), channel_data: channelData });
}

/** A socket of the open app, signed in as the worker's user and joined to every one of its channels. */
async function joinedSocket(worker: number): Promise<PusherSocket> {
  const socket = await openPusherSocket(herald.httpPort, openApp.key);
  const from = socket.frames.length;
  socket.ws.send(`{"event":"pusher:signin","data":${signinData(socket.socketId, worker)}}`);
  await socket.next((f) => f.event === 'pusher:signin_success', 30_000, from);
  const answers = await join(socket, worker, channelsOf(worker));
  const refused = [...answers].filter(([, event]) => event !== 'pusher_internal:subscription_succeeded');
  assert.deepEqual(refused, [], 'a fresh socket joins every kind of channel');
  return socket;
}

async function handlerFailures(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${herald.metricsPort}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('herald_ws_handler_failures_total{'))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

describe('fuzz: every event type with deep and huge data, after joining every channel kind', () => {
  it(`${DEEP_RUNS} frames over ${DEEP_WORKERS} signed-in sockets joined to every channel kind: no handler fails, the process and other sockets keep working`, async () => {
    const cases = fc.sample(deepCase, { numRuns: DEEP_RUNS, seed: fuzzSeed + 2 });
    const bystander = await open();
    const tally = { sent: 0, oversize: 0, deepest: 0, signinCloses: 0, relayed: 0 };
    const problems: string[] = [];
    await runPool(DEEP_WORKERS, DEEP_WORKERS, async (worker) => {
      const listener = await openPusherSocket(herald.httpPort, openApp.key);
      const listening = await join(listener, worker, relayChannels(worker), `listener-${worker}`);
      assert.ok([...listening.values()].every((event) => event === 'pusher_internal:subscription_succeeded'), 'the listener joins');
      const expected = new Set<string>();
      let socket = await joinedSocket(worker);
      let since = 0;
      for (let i = worker; i < cases.length; i += DEEP_WORKERS) {
        const c = cases[i]!;
        const frame = deepFrame(c, socket.socketId, worker);
        if (Buffer.byteLength(frame.text) > MAX_PAYLOAD) {
          tally.oversize += 1;
          continue;
        }
        if (frame.relayed !== undefined) expected.add(frame.relayed);
        tally.deepest = Math.max(tally.deepest, nestingDepth(frame.text));
        socket.ws.send(frame.text);
        tally.sent += 1;
        since += 1;
        // A refused sign-in closes with 4009 by design; anything else that closes the socket is a failure.
        const closesByDesign = c.event === 'pusher:signin';
        if (!closesByDesign && since < 100) continue;
        since = 0;
        const outcome = await socket.roundTrip().then(
          () => undefined,
          async () => (await socket.closed).code,
        );
        if (outcome === undefined) {
          // Put back what fuzzed unsubscribes took away, so later frames still meet every channel kind.
          await join(socket, worker, channelsOf(worker));
          continue;
        }
        if (!closesByDesign || outcome !== 4009) {
          throw new Error(`socket closed with ${outcome} after ${c.event} frame: ${frame.text.slice(0, 300)}…`);
        }
        tally.signinCloses += 1;
        socket = await joinedSocket(worker);
      }
      await socket.roundTrip();
      const from = listener.frames.length;
      socket.ws.send(JSON.stringify({ event: 'client-final', channel: `private-w${worker}`, data: { worker } }));
      await listener.next((f) => f.event === 'client-final', 30_000, from);
      listener.raw.forEach((raw, index) => {
        const problem = frameProblem(listener.frames[index]!, raw);
        if (problem) problems.push(problem);
        if (listener.frames[index]?.event.startsWith('client-') && listener.frames[index]?.event !== 'client-final') {
          tally.relayed += 1;
          if (!expected.has(raw)) problems.push(`relayed bytes differ from what was sent: ${raw.slice(0, 200)}`);
        }
      });
      for (const s of [socket, listener]) {
        problems.push(...socketProblems(s, new Set()));
        s.ws.close();
        await s.closed;
      }
    });
    console.log(`deep frames: ${JSON.stringify(tally)}`);
    assert.deepEqual(problems.slice(0, 10), []);
    assert.equal(await handlerFailures(), 0, 'no handler failed');
    assert.ok(tally.relayed > 0, 'client events were relayed');
    assert.ok(tally.deepest >= 5_000, `data nested thousands of levels deep was sent (deepest ${tally.deepest})`);
    assert.equal(herald.child.exitCode, null, 'the process is up');
    await bystander.roundTrip();
    const fresh = await open();
    fresh.ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'after-deep' } }));
    await fresh.next((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === 'after-deep');
    for (const s of [bystander, fresh]) s.ws.close();
  });
});
