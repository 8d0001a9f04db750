import fc from 'fast-check';
import { WebSocket } from 'ws';

export interface Frame {
  event: string;
  channel?: string;
  data?: unknown;
}

/** A raw `ws` client speaking Pusher protocol 7, recording every frame the server sends. */
export interface PusherSocket {
  readonly ws: WebSocket;
  readonly socketId: string;
  /** Every frame received, parsed; unparseable text is recorded as event '(not json)'. */
  readonly frames: Frame[];
  readonly raw: string[];
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Resolves with the first frame after `from` that matches, or rejects after `timeoutMs`. */
  next(match: (frame: Frame) => boolean, timeoutMs?: number, from?: number): Promise<Frame>;
  /**
   * Proves the server read every earlier frame of this socket: a subscribe to a channel
   * of its own name, answered (joined or refused) in order. A pong would not do: fuzzed
   * pusher:ping frames earlier in flight are answered with the same pong.
   */
  roundTrip(timeoutMs?: number): Promise<void>;
}

export async function openPusherSocket(port: number, key: string, timeoutMs = 10_000): Promise<PusherSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/app/${key}?protocol=7&client=js&version=8.4.0`);
  const frames: Frame[] = [];
  const raw: string[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    const text = data.toString('utf8');
    raw.push(text);
    let frame: Frame;
    try {
      frame = JSON.parse(text) as Frame;
    } catch {
      frame = { event: isBinary ? '(binary)' : '(not json)' };
    }
    frames.push(frame);
    for (const wake of waiters) wake();
  });
  ws.on('error', () => {});
  let isClosed = false;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('close', () => {
    isClosed = true;
    for (const wake of waiters) wake();
  });
  const next = (match: (frame: Frame) => boolean, waitMs = 10_000, from = 0): Promise<Frame> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = frames.slice(from).find(match);
        if (!found && !isClosed) return false;
        waiters.delete(wake);
        clearTimeout(timer);
        if (found) resolve(found);
        else reject(new Error(`socket closed before a matching frame; last frames: ${raw.slice(-3).join(' | ').slice(0, 500)}`));
        return true;
      };
      const wake = (): void => void check();
      const timer = setTimeout(() => {
        waiters.delete(wake);
        reject(new Error(`no matching frame within ${waitMs} ms; last frames: ${raw.slice(-3).join(' | ').slice(0, 500)}`));
      }, waitMs);
      waiters.add(wake);
      check();
    });
  let probes = 0;
  const established = await next((f) => f.event === 'pusher:connection_established', timeoutMs);
  const socketId = (JSON.parse(String(established.data)) as { socket_id: string }).socket_id;
  return {
    ws,
    socketId,
    frames,
    raw,
    closed,
    next,
    async roundTrip(waitMs = 30_000) {
      const from = frames.length;
      probes += 1;
      const probe = `round-trip-${probes}`;
      ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: probe } }));
      await next((f) => f.channel === probe && (f.event === 'pusher_internal:subscription_succeeded' || f.event === 'pusher:subscription_error'), waitMs, from);
      ws.send(JSON.stringify({ event: 'pusher:unsubscribe', data: { channel: probe } }));
    },
  };
}

/** What a well-formed server frame must look like: JSON with an event name; errors carry a message. */
export function frameProblem(frame: Frame, rawText: string): string | undefined {
  if (typeof frame.event !== 'string' || frame.event.startsWith('(')) return `not a Pusher frame: ${rawText.slice(0, 200)}`;
  if (frame.event === 'pusher:error') {
    const data = frame.data as { message?: unknown } | undefined;
    if (typeof data?.message !== 'string' || data.message.length === 0) return `pusher:error without a message: ${rawText.slice(0, 200)}`;
  }
  if (frame.event === 'pusher:subscription_error') {
    const data = frame.data as { error?: unknown; status?: unknown } | undefined;
    if (typeof data?.error !== 'string' || typeof data.status !== 'number') return `subscription_error without error/status: ${rawText.slice(0, 200)}`;
  }
  return undefined;
}

export type NestShape = 'array' | 'object' | 'mixed';

/**
 * JSON text nested `depth` levels deep, built as text: JSON.stringify in the test would
 * throw just as the server's did. `mixed` alternates objects and arrays.
 */
export function nestedJson(depth: number, shape: NestShape, leaf = '0'): string {
  if (shape === 'array') return '['.repeat(depth) + leaf + ']'.repeat(depth);
  if (shape === 'object') return '{"a":'.repeat(depth) + leaf + '}'.repeat(depth);
  const pairs = Math.ceil(depth / 2);
  return '{"a":['.repeat(pairs) + leaf + ']}'.repeat(pairs);
}

const bytesPerLevel: Record<NestShape, number> = { array: 2, object: 6, mixed: 4 };

/**
 * JSON text of every difficult kind, at most about `maxBytes` long: ordinary values,
 * values nested from 64 up to as deep as the size allows, huge strings and wide arrays.
 */
export function jsonText(maxBytes: number): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value) ?? 'null') },
    {
      weight: 3,
      arbitrary: fc
        .record({ share: fc.double({ min: 0, max: 1, noNaN: true }), shape: fc.constantFrom<NestShape>('array', 'object', 'mixed'), leaf: fc.constantFrom('0', '"x"', '{}', '[]', 'null', '"\\"]}"') })
        .map(({ share, shape, leaf }) => nestedJson(Math.max(64, Math.floor((share * (maxBytes - 16)) / bytesPerLevel[shape])), shape, leaf)),
    },
    { weight: 1, arbitrary: fc.integer({ min: 1_000, max: Math.max(1_000, maxBytes - 2) }).map((length) => JSON.stringify('x'.repeat(length))) },
    { weight: 1, arbitrary: fc.integer({ min: 100, max: Math.max(100, Math.floor(maxBytes / 2) - 1) }).map((length) => `[${'0,'.repeat(length - 1)}0]`) },
  );
}

/** How deep `text` nests objects and arrays (strings skipped), counted without recursion. */
export function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (c === '"') {
      for (i += 1; i < text.length && text[i] !== '"'; i += 1) if (text[i] === '\\') i += 1;
    } else if (c === '[' || c === '{') {
      depth += 1;
      if (depth > deepest) deepest = depth;
    } else if (c === ']' || c === '}') {
      depth -= 1;
    }
  }
  return deepest;
}
