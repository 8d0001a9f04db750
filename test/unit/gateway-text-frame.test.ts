import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { encodeTextFrame, textFrameOf } from '../../src/gateway/text-frame.js';

describe('pre-built text frames', () => {
  const server = createServer();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  let payloads: Buffer[] = [];
  let url = '';

  before(async () => {
    // The server writes the pre-built frames straight to the upgraded socket, as the gateway does.
    server.on('upgrade', (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, () => {
        for (const payload of payloads) socket.write(encodeTextFrame(payload));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('arrive as text messages, byte for byte, across the 7-bit, 16-bit and 64-bit length forms', async () => {
    const sizes = [0, 1, 125, 126, 127, 65_535, 65_536, 200_000];
    payloads = sizes.map((size, i) => Buffer.from('é'.repeat(Math.floor(size / 2)) + (size % 2 ? String(i % 10) : '')));
    assert.deepEqual(payloads.map((p) => p.length), sizes);
    const client = new WebSocket(url, { perMessageDeflate: false });
    const received: Array<{ text: string; isBinary: boolean }> = [];
    await new Promise<void>((resolve, reject) => {
      client.on('error', reject);
      client.on('close', (code) => reject(new Error(`closed with ${code}`)));
      client.on('message', (data: Buffer, isBinary) => {
        received.push({ text: data.toString('utf8'), isBinary });
        if (received.length === payloads.length) resolve();
      });
    });
    client.removeAllListeners('close');
    client.terminate();
    assert.deepEqual(received, payloads.map((p) => ({ text: p.toString('utf8'), isBinary: false })));
  });

  it('frames a payload Buffer once however many sockets it is written to', () => {
    const payload = Buffer.from('{"event":"e","channel":"c","data":"x"}');
    const first = textFrameOf(payload);
    assert.equal(textFrameOf(payload), first);
    assert.deepEqual(first.subarray(2), payload);
    assert.deepEqual([...first.subarray(0, 2)], [0x81, payload.length]);
    const other = Buffer.from(payload);
    const otherFrame = textFrameOf(other);
    assert.notEqual(otherFrame, first);
    assert.deepEqual(otherFrame, first);
  });
});
