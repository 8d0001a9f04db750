import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { RawClient, metricValue, serverSdk } from '../helpers/pusher-clients.js';
import type { RawFrame, TestApp } from '../helpers/pusher-clients.js';

// One frame used to kill the daemon: a client event whose `data` nested a few thousand
// levels deep made the size check's JSON.stringify throw RangeError inside the `ws`
// message listener, and Node exited with every app's sockets. These frames are sent
// with raw `ws`, and after each one the process must still be up and other sockets
// (of this app and of another) must still be served.

const app: TestApp = { id: 'deep', key: 'deep-key', secret: 'deep-secret-0001' };
const bystanderApp: TestApp = { id: 'other', key: 'other-key', secret: 'other-secret-001' };
/** Large enough that presence data may nest deeper than JSON.stringify can recurse. */
const PRESENCE_KB = 90;

/** `[[[…]]]` nested `depth` levels: 2 bytes per level. */
const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);
const sign = (text: string): string => `${app.key}:${createHmac('sha256', app.secret).update(text).digest('hex')}`;

describe('gateway: deeply nested frame data never takes the process down', () => {
  let herald: HeraldProcess;
  const clients: RawClient[] = [];

  before(async () => {
    herald = await startHeraldProcess({
      config: {
        gateway: { maxPayloadBytes: 100 * 1024, activityTimeoutSeconds: 60, pongTimeoutSeconds: 60 },
        log: { level: 'debug' },
        apps: [
          { ...app, enableClientMessages: true, limits: { maxPresenceMemberSizeKb: PRESENCE_KB } },
          { ...bystanderApp, enableClientMessages: true },
        ],
      },
    });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await herald.stop();
  });

  async function connect(which: TestApp = app): Promise<{ client: RawClient; socketId: string }> {
    const connection = await RawClient.connect(herald.httpPort, which.key);
    clients.push(connection.client);
    return connection;
  }

  async function join(client: RawClient, socketId: string, channel: string, channelData?: string): Promise<RawFrame> {
    const from = client.mark();
    const toSign = channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`;
    client.send({ event: 'pusher:subscribe', data: { channel, auth: sign(toSign), ...(channelData === undefined ? {} : { channel_data: channelData }) } });
    return client.next((f) => f.channel === channel && (f.event === 'pusher_internal:subscription_succeeded' || f.event === 'pusher:subscription_error'), { from });
  }

  async function pong(client: RawClient): Promise<void> {
    const from = client.mark();
    client.send({ event: 'pusher:ping', data: {} });
    await client.next((f) => f.event === 'pusher:pong', { from });
  }

  /** The process is up and serves a socket of another app, from connect to a client event relayed. */
  async function stillServing(): Promise<void> {
    assert.equal(herald.child.exitCode, null, 'the daemon is still running');
    const sdk = serverSdk(herald.httpPort, bystanderApp);
    const [a, b] = [await connect(bystanderApp), await connect(bystanderApp)];
    for (const { client, socketId } of [a, b]) {
      const from = client.mark();
      client.send({ event: 'pusher:subscribe', data: { channel: 'private-after', auth: sdk.authorizeChannel(socketId, 'private-after').auth } });
      await client.next((f) => f.event === 'pusher_internal:subscription_succeeded', { from });
    }
    a.client.send({ event: 'client-after', channel: 'private-after', data: { ok: true } });
    assert.deepEqual((await b.client.next((f) => f.event === 'client-after')).data, { ok: true });
  }

  it('refuses a client event whose data nests 30,000 levels deep (measured on the raw bytes), and keeps serving', async () => {
    const sender = await connect();
    const receiver = await connect();
    for (const { client, socketId } of [sender, receiver]) assert.equal((await join(client, socketId, 'private-deep')).event, 'pusher_internal:subscription_succeeded');
    const from = sender.client.mark();
    sender.client.ws.send(`{"event":"client-deep","channel":"private-deep","data":${nested(30_000)}}`);
    const error = await sender.client.next((f) => f.event === 'pusher:error', { from });
    assert.match((error.data as { message: string }).message, /larger than 10240 bytes/);
    await pong(sender.client);
    await pong(receiver.client);
    assert.equal(receiver.client.frames.some((f) => f.event === 'client-deep'), false);
    assert.ok((await metricValue(herald.metricsPort, 'herald_client_events_rejected_total', { reason: 'too_large' })) >= 1);
    await stillServing();
  });

  it('relays a client event nested 5,000 levels deep within the size limit exactly as sent', async () => {
    const sender = await connect();
    const receiver = await connect();
    for (const { client, socketId } of [sender, receiver]) assert.equal((await join(client, socketId, 'private-nest')).event, 'pusher_internal:subscription_succeeded');
    const texts: string[] = [];
    receiver.client.ws.on('message', (text: Buffer) => texts.push(text.toString()));
    const data = `{"a" : ${nested(5_000)}}`;
    sender.client.ws.send(`{"event":"client-nest","channel":"private-nest","data":${data}}`);
    await receiver.client.next((f) => f.event === 'client-nest');
    const relayed = texts.find((text) => text.includes('"client-nest"'));
    assert.equal(relayed, `{"event":"client-nest","channel":"private-nest","data":${data}}`, 'the data bytes as the sender wrote them');
    await pong(sender.client);
    await stillServing();
  });

  it('answers every other frame type carrying 30,000-deep data, and keeps the socket', async () => {
    const { client } = await connect();
    const deep = nested(30_000);
    const third = nested(15_000); // three of them stay under maxPayloadBytes
    for (const event of ['pusher:subscribe', 'pusher:unsubscribe', 'pusher:ping', 'pusher:pong', 'pusher:teleport', 'not-client', 'client-x']) {
      client.ws.send(`{"event":"${event}","channel":"private-deep","data":${deep}}`);
      client.ws.send(`{"event":"${event}","data":{"channel":${third},"auth":${third},"channel_data":${third}}}`);
      await pong(client);
    }
    assert.equal(client.ws.readyState, client.ws.OPEN);
    await stillServing();
  });

  it('refuses signed presence channel_data whose user_info nests deeper than the gateway allows', async () => {
    const { client, socketId } = await connect();
    const channelData = `{"user_id":"deep","user_info":${nested(20_000)}}`;
    const answer = await join(client, socketId, 'presence-deep', channelData);
    assert.equal(answer.event, 'pusher:subscription_error');
    assert.match(JSON.stringify(answer.data), /nest/);
    await pong(client);
    await stillServing();
  });

  it('refuses a signed sign-in whose user_info nests deeper than the gateway allows, with 4009', async () => {
    const { client, socketId } = await connect();
    const userData = `{"id":"deep","user_info":${nested(20_000)}}`;
    client.send({ event: 'pusher:signin', data: { user_data: userData, auth: sign(`${socketId}::user::${userData}`) } });
    assert.equal((await client.closed).code, 4009);
    await stillServing();
  });
});
