/**
 * A load-generator process: opens many raw `ws` connections speaking Pusher protocol 7
 * (wait for connection_established, send pusher:subscribe, wait for
 * subscription_succeeded) and records, for every bench event received, the delay since
 * the publisher stamped it. Driven over IPC by SubscriberFleet.
 */
import { WebSocket } from 'ws';
import { serveIpc } from './ipc.js';
import { epochMs } from './clock.js';

export interface ConnectParams {
  readonly url: string;
  readonly count: number;
  readonly channel: string;
  /** Source addresses used in turn (127.0.0.x), so N connections do not exhaust one address's ephemeral ports. */
  readonly localAddresses: readonly string[];
  /** Handshakes in progress at once. */
  readonly concurrency: number;
  readonly timeoutMs: number;
}

export interface ConnectResult {
  readonly connected: number;
  readonly failed: number;
  readonly firstError: string | undefined;
  readonly ms: number;
}

export interface Counters {
  readonly open: number;
  readonly received: number;
  /** Epoch ms of the last bench event received. */
  readonly lastAt: number;
  /** Sockets the server closed (code → count). */
  readonly closes: Record<string, number>;
}

/** Marker of the stamp inside a bench event's string data: `..."data":"{\"t\":1712…`. */
const STAMP = Buffer.from('{\\"t\\":');

const sockets = new Set<WebSocket>();
const closes: Record<string, number> = {};
let latencies = new Float64Array(1 << 16);
let received = 0;
let lastAt = 0;
let closingAll = false;

function record(latencyMs: number): void {
  if (received === latencies.length) {
    const grown = new Float64Array(latencies.length * 2);
    grown.set(latencies);
    latencies = grown;
  }
  latencies[received] = latencyMs;
  received += 1;
}

function openOne(params: ConnectParams, localAddress: string | undefined): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(params.url, { perMessageDeflate: false, ...(localAddress ? { localAddress } : {}) });
    let settled = false;
    const timer = setTimeout(() => fail(new Error(`handshake took over ${params.timeoutMs} ms`)), params.timeoutMs);
    function fail(err: Error): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.terminate();
      reject(err);
    }
    ws.on('error', (err) => fail(err));
    ws.on('close', (code) => {
      sockets.delete(ws);
      if (settled && !closingAll) closes[code] = (closes[code] ?? 0) + 1;
      else fail(new Error(`closed with ${code} during the handshake`));
    });
    ws.on('message', (data: Buffer) => {
      const at = data.indexOf(STAMP);
      if (at >= 0) {
        const now = epochMs();
        record(now - Number.parseFloat(data.toString('latin1', at + STAMP.length, at + STAMP.length + 24)));
        lastAt = now;
        return;
      }
      const frame = JSON.parse(data.toString()) as { event?: string; channel?: string };
      if (frame.event === 'pusher:connection_established') {
        ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: params.channel } }));
      } else if (frame.event === 'pusher_internal:subscription_succeeded' && !settled) {
        settled = true;
        clearTimeout(timer);
        sockets.add(ws);
        resolve(ws);
      } else if (frame.event === 'pusher:ping') {
        ws.send('{"event":"pusher:pong","data":{}}');
      } else if (frame.event === 'pusher:error' || frame.event === 'pusher:subscription_error') {
        fail(new Error(`refused: ${data.toString()}`));
      }
    });
  });
}

async function connect(params: ConnectParams): Promise<ConnectResult> {
  const started = performance.now();
  let next = 0;
  let connected = 0;
  let failed = 0;
  let firstError: string | undefined;
  const lane = async (): Promise<void> => {
    while (next < params.count) {
      const index = next++;
      try {
        await openOne(params, params.localAddresses[index % Math.max(1, params.localAddresses.length)]);
        connected += 1;
      } catch (err) {
        failed += 1;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(params.concurrency, params.count) }, lane));
  return { connected, failed, firstError, ms: performance.now() - started };
}

serveIpc({
  connect: (params: ConnectParams) => connect(params),
  counters: (): Counters => ({ open: sockets.size, received, lastAt, closes }),
  /** The recorded latencies (ms), then a fresh start. */
  drain: (): Float64Array => {
    const out = latencies.slice(0, received);
    received = 0;
    lastAt = 0;
    return out;
  },
  closeAll: async (): Promise<number> => {
    closingAll = true;
    const count = sockets.size;
    for (const ws of sockets) ws.terminate();
    sockets.clear();
    return count;
  },
  memory: () => process.memoryUsage(),
});
