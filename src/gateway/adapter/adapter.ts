import type { Service } from '../../lib/service.js';

/** A message that fans out to every node; versioned so mixed-version clusters can skip what they don't know. */
export type FanoutMessage =
  | { v: 1; type: 'event'; app: string; channel: string; frame: string; exceptSocketId?: string }
  | { v: 1; type: 'user-event'; app: string; userId: string; frame: string }
  | { v: 1; type: 'terminate-user'; app: string; userId: string };

/** Fanout across nodes. The local adapter is a direct call; the adapter never imports the gateway. */
export interface Adapter extends Service {
  /** Delivered at most once per node; no ordering across channels. */
  publish(message: FanoutMessage): Promise<void>;
  onMessage(handler: (message: FanoutMessage) => void): void;
}
