import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type Pusher from 'pusher';
import { startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { RawClient, connected, gatewayTestConfig, metricValue, pusherClient, serverSdk, subscribe, testApps } from '../helpers/pusher-clients.js';
import type { RawFrame } from '../helpers/pusher-clients.js';
import { waitFor } from '../helpers/wait.js';

const { main } = testApps;

describe('gateway bad input: answered, counted, logged, and the server keeps serving', () => {
  let herald: HeraldProcess;
  let sdk: Pusher;
  const clients: RawClient[] = [];

  before(async () => {
    herald = await startHeraldProcess({
      config: { ...gatewayTestConfig({ maxPayloadBytes: 64 * 1024, maxChannelsPerConnection: 20, activityTimeoutSeconds: 30 }), log: { level: 'debug' } },
    });
    sdk = serverSdk(herald.httpPort, main);
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await herald.stop();
  });

  async function rawClient(): Promise<{ client: RawClient; socketId: string }> {
    const connection = await RawClient.connect(herald.httpPort, main.key);
    clients.push(connection.client);
    return connection;
  }

  /** Sends `input`, returns the pusher:error (or subscription_error) it caused, and checks the socket still answers. */
  async function answered(client: RawClient, input: string | Buffer, binary = false): Promise<RawFrame> {
    const from = client.mark();
    client.ws.send(input, { binary });
    const answer = await client.next((f) => f.event === 'pusher:error' || f.event === 'pusher:subscription_error', { from });
    const pingFrom = client.mark();
    client.send({ event: 'pusher:ping', data: {} });
    await client.next((f) => f.event === 'pusher:pong', { from: pingFrom });
    return answer;
  }

  it('answers malformed JSON, non-object frames and frames without an event with pusher:error and stays open', async () => {
    const { client } = await rawClient();
    for (const input of ['{not json', '[]', '42', '"just a string"', 'null', '{}', '{"event":""}', '{"event":7}']) {
      const error = await answered(client, input);
      assert.equal(error.event, 'pusher:error', input);
      assert.equal((error.data as { code: unknown }).code, null, input);
    }
  });

  it('answers unknown pusher: events and client events without the client- prefix', async () => {
    const { client } = await rawClient();
    assert.match(JSON.stringify((await answered(client, '{"event":"pusher:teleport","data":{}}')).data), /Unknown event/);
    assert.match(JSON.stringify((await answered(client, '{"event":"pusher_internal:member_added","data":{}}')).data), /Unknown event/);
    assert.match(JSON.stringify((await answered(client, '{"event":"broadcast","channel":"x","data":{}}')).data), /client-/);
    assert.match(JSON.stringify((await answered(client, '{"event":"client-x","data":{}}')).data), /no channel/);
  });

  it('answers subscribe and unsubscribe frames without a usable channel', async () => {
    const { client } = await rawClient();
    for (const input of [
      '{"event":"pusher:subscribe"}',
      '{"event":"pusher:subscribe","data":"not json"}',
      '{"event":"pusher:subscribe","data":{"channel":42}}',
      '{"event":"pusher:unsubscribe","data":{}}',
    ]) {
      assert.equal((await answered(client, input)).event, 'pusher:error', input);
    }
    const invalid = await answered(client, JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'no spaces allowed' } }));
    assert.equal(invalid.event, 'pusher:subscription_error');
  });

  it('refuses a subscription signed for another socket id', async () => {
    const { client } = await rawClient();
    const other = await rawClient();
    const refused = await answered(client, JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'private-theirs', ...sdk.authorizeChannel(other.socketId, 'private-theirs') } }));
    assert.deepEqual({ ...(refused.data as object), error: undefined }, { type: 'AuthError', status: 401, error: undefined });
  });

  it('answers binary frames with pusher:error and stays open', async () => {
    const { client } = await rawClient();
    const error = await answered(client, Buffer.from([0, 1, 2, 3]), true);
    assert.match(JSON.stringify(error.data), /Binary frames are not supported/);
  });

  it('closes a frame over maxPayload with 1009 and invalid UTF-8 with 1007', async () => {
    const big = (await rawClient()).client;
    big.send({ event: 'client-huge', channel: 'private-x', data: 'x'.repeat(70 * 1024) });
    assert.equal((await big.closed).code, 1009);
    const garbled = (await rawClient()).client;
    garbled.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    assert.equal((await garbled.closed).code, 1007);
  });

  it('caps a subscribe flood: channels per connection and queued requests are bounded, and the socket keeps working', async () => {
    const { client } = await rawClient();
    const from = client.mark();
    for (let i = 0; i < 400; i += 1) client.send({ event: 'pusher:subscribe', data: { channel: `flood-${i}` } });
    const answers = async () => client.frames.slice(from).filter((f) => f.event === 'pusher_internal:subscription_succeeded' || f.event === 'pusher:subscription_error');
    await waitFor(async () => (await answers()).length === 400, { what: '400 answers' });
    const all = await answers();
    assert.equal(all.filter((f) => f.event === 'pusher_internal:subscription_succeeded').length, 20);
    const refusals = all.filter((f) => f.event === 'pusher:subscription_error').map((f) => f.data as { type: string; status: number });
    assert.ok(refusals.every((r) => r.type === 'LimitReached' && r.status === 429));
    await answered(client, '{"event":"pusher:subscribe","data":{"channel":"flood-extra"}}');
    await sdk.trigger('flood-3', 'still-here', '{}');
    await client.next((f) => f.event === 'still-here');
  });

  it('logs bad input at debug with its reason and counts it by reason', async () => {
    await waitFor(() => herald.logs().some((l) => l.msg === 'bad frame' && l.reason === 'malformed_json' && l.level === 20), { what: 'a debug log line' });
    for (const reason of ['malformed_json', 'not_an_object', 'missing_event', 'unknown_event', 'binary_frame', 'frame_too_large', 'invalid_utf8', 'too_many_channels', 'auth_failed', 'invalid_channel']) {
      assert.ok((await metricValue(herald.metricsPort, 'herald_ws_protocol_errors_total', { app: main.id, reason })) >= 1, reason);
    }
    assert.equal(herald.logs().some((l) => JSON.stringify(l).includes(main.secret)), false, 'the app secret never reaches the logs');
  });

  it('still serves a normal pusher-js client afterwards', async () => {
    const client = pusherClient(herald.httpPort, main);
    try {
      await connected(client);
      const { channel } = await subscribe(client, 'private-after');
      const got = new Promise((resolve) => channel.bind('fine', resolve));
      await sdk.trigger('private-after', 'fine', { ok: true });
      assert.deepEqual(await got, { ok: true });
    } finally {
      client.disconnect();
    }
  });
});
