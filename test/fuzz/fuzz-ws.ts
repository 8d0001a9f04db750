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
  /** pusher:ping → pusher:pong: proves the server read every earlier frame of this socket. */
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
      ws.send(JSON.stringify({ event: 'pusher:ping', data: {} }));
      await next((f) => f.event === 'pusher:pong', waitMs, from);
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
