import type { App } from '../apps/app-store.js';

/**
 * What the notification feature needs from the realtime side, implemented by the
 * gateway and wired in by main.ts: notifications/ never imports the gateway.
 */

/** A channel event as a notification hands it over; `data` is the JSON text relayed as is. */
export interface RealtimeEvent {
  readonly channels: readonly string[];
  readonly name: string;
  readonly data: string;
  /** This connection does not receive the event. */
  readonly socketId?: string | undefined;
}

/** An event the app's limits or Pusher's rules refuse: `invalid` answers 400, `too_large` 413. */
export interface RealtimeRefusal {
  readonly ok: false;
  readonly reason: 'invalid' | 'too_large';
  readonly message: string;
}

/** The publish rules without sending, so intake refuses what could never go out. */
export type RealtimeCheck = (app: App, event: RealtimeEvent) => RealtimeRefusal | undefined;

/** Publishes to every subscriber in the cluster; a broken adapter or cache rejects. */
export interface RealtimePublisher {
  publish(app: App, event: RealtimeEvent, options: { source: 'notification' }): Promise<{ readonly ok: true; readonly channels: number } | RealtimeRefusal>;
}

/** Pusher's channel of one signed-in user: pusher-js receives it after `signin()`. */
export function userChannel(userId: string): string {
  return `#server-to-user-${userId}`;
}

/**
 * Who is signed in (pusher-js `signin()`) on some node of the cluster, from the gateway's
 * shared state. One round trip for the whole batch; a rejected promise means the state
 * could not be read (Redis away), not that nobody is online.
 */
export interface UserPresence {
  onlineUsers(app: string, userIds: readonly string[]): Promise<Set<string>>;
}
