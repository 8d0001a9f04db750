import { isFanoutMessage } from './adapter.js';
import type { FanoutMessage } from './adapter.js';

/**
 * One Redis pub/sub payload carries a batch of fanout messages from one node:
 *
 *   {"v":1,"node":"<id>","m":[["e",app,channel,exceptSocketId|null,frameLength],["t",app,userId,null,0],…]}\n
 *   <frame 1><frame 2>…
 *
 * The header is JSON; frames follow unescaped, cut by their lengths (UTF-16 code
 * units, which survive the UTF-8 round trip of a well-formed string), so a 100 kB
 * frame is not escaped and parsed a second time.
 */
export interface FanoutBatch {
  readonly node: string;
  readonly messages: readonly FanoutMessage[];
}

type Entry = [kind: 'e' | 't', app: string, target: string, except: string | null, length: number];

export function encodeBatch(node: string, messages: readonly FanoutMessage[]): string {
  const entries: Entry[] = [];
  let frames = '';
  for (const message of messages) {
    if (message.type === 'event') {
      entries.push(['e', message.app, message.channel, message.exceptSocketId ?? null, message.frame.length]);
      frames += message.frame;
    } else {
      entries.push(['t', message.app, message.userId, null, 0]);
    }
  }
  return `${JSON.stringify({ v: 1, node, m: entries })}\n${frames}`;
}

/**
 * The batch, or undefined when the payload is not one this version understands
 * (another version's format, garbage): the caller drops it. A malformed entry
 * drops the whole batch, since the frame offsets after it cannot be trusted.
 */
export function decodeBatch(payload: string): FanoutBatch | undefined {
  const newline = payload.indexOf('\n');
  if (newline < 0) return undefined;
  let header: unknown;
  try {
    header = JSON.parse(payload.slice(0, newline));
  } catch {
    return undefined;
  }
  if (header === null || typeof header !== 'object') return undefined;
  const { v, node, m } = header as Record<string, unknown>;
  if (v !== 1 || typeof node !== 'string' || !Array.isArray(m)) return undefined;
  const messages: FanoutMessage[] = [];
  let offset = newline + 1;
  for (const entry of m as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 5) return undefined;
    const [kind, app, target, except, length] = entry as unknown[];
    if (typeof length !== 'number' || !Number.isInteger(length) || length < 0 || offset + length > payload.length) return undefined;
    let message: unknown;
    if (kind === 'e') {
      const frame = payload.slice(offset, offset + length);
      offset += length;
      message = except === null ? { v: 1, type: 'event', app, channel: target, frame } : { v: 1, type: 'event', app, channel: target, frame, exceptSocketId: except };
    } else if (kind === 't') {
      message = { v: 1, type: 'terminate-user', app, userId: target };
    }
    if (!isFanoutMessage(message)) return undefined;
    messages.push(message);
  }
  return offset === payload.length ? { node, messages } : undefined;
}
