/**
 * The baseline: the least a Pusher-speaking broadcast server must do, written directly
 * on `ws` and node:http. It greets each socket, answers pusher:subscribe, and turns
 * `POST /apps/{id}/events` into one serialized frame written to every subscriber. No
 * signature check, limits, metrics or logs: the floor cost of the transport. Runs in
 * its own process (started over IPC) so /proc CPU and RSS are its own.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { serveIpc } from './ipc.js';

const channels = new Map<string, Set<WebSocket>>();
let nextSocket = 1;

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    if (req.method !== 'POST' || !req.url?.includes('/events')) {
      res.writeHead(404).end();
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString()) as { name: string; channel?: string; channels?: string[]; data: unknown };
    for (const channel of body.channels ?? [body.channel ?? '']) {
      const payload = Buffer.from(JSON.stringify({ event: body.name, channel, data: body.data }));
      for (const ws of channels.get(channel) ?? []) ws.send(payload, { binary: false });
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});

const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: false });
wss.on('connection', (ws) => {
  const joined = new Set<string>();
  ws.on('error', () => {});
  ws.send(JSON.stringify({ event: 'pusher:connection_established', data: JSON.stringify({ socket_id: `1.${nextSocket++}`, activity_timeout: 120 }) }));
  ws.on('message', (data: Buffer) => {
    const frame = JSON.parse(data.toString()) as { event?: string; data?: { channel?: string } };
    if (frame.event === 'pusher:subscribe' && typeof frame.data?.channel === 'string') {
      const channel = frame.data.channel;
      let set = channels.get(channel);
      if (!set) channels.set(channel, (set = new Set()));
      set.add(ws);
      joined.add(channel);
      ws.send(JSON.stringify({ event: 'pusher_internal:subscription_succeeded', channel, data: '{}' }));
    } else if (frame.event === 'pusher:ping') {
      ws.send('{"event":"pusher:pong","data":{}}');
    }
  });
  ws.on('close', () => {
    for (const channel of joined) channels.get(channel)?.delete(ws);
  });
});

serveIpc({
  listen: () =>
    new Promise<number>((resolve) => {
      server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    }),
});
