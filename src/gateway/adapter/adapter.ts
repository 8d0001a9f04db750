import type { Service } from '../../lib/service.js';

/**
 * What travels between nodes. Versioned so a mixed-version cluster can skip what it
 * does not know; a node must ignore messages whose `v` or `type` it does not handle.
 */
export type FanoutMessage =
  | {
      readonly v: 1;
      readonly type: 'event';
      readonly app: string;
      readonly channel: string;
      /** The complete frame, serialized once by the publisher; nodes write it as is. */
      readonly frame: string;
      /** This socket (on whichever node holds it) does not receive the frame. */
      readonly exceptSocketId?: string;
    }
  | { readonly v: 1; readonly type: 'terminate-user'; readonly app: string; readonly userId: string };

export type FanoutHandler = (message: FanoutMessage) => void;

/**
 * Fanout across nodes. The adapter never imports the gateway: the gateway registers
 * a handler and every node's handler — the publishing node's included — receives
 * each published message.
 */
export interface Adapter extends Service {
  /**
   * Hands the message to every node at most once each. Messages published by one
   * node reach each node in publish order; there is no order across publishers.
   * Rejects only when the transport is broken.
   */
  publish(message: FanoutMessage): Promise<void>;
  /** A handler that throws is reported by the adapter and never affects the publisher or other messages. */
  onMessage(handler: FanoutHandler): void;
}

/** Structural check for messages arriving from another process. */
export function isFanoutMessage(value: unknown): value is FanoutMessage {
  if (value === null || typeof value !== 'object') return false;
  const m = value as Record<string, unknown>;
  if (m.v !== 1 || typeof m.app !== 'string') return false;
  if (m.type === 'event') {
    return typeof m.channel === 'string' && typeof m.frame === 'string' && (m.exceptSocketId === undefined || typeof m.exceptSocketId === 'string');
  }
  if (m.type === 'terminate-user') return typeof m.userId === 'string';
  return false;
}
