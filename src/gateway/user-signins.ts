/**
 * Who is signed in (pusher:signin), cluster-wide. A signed-in socket is held in the shared
 * channel state as a member of its user's `#server-to-user-{id}` record, so the state's
 * node heartbeats and reaping clear a dead node's users like its subscriptions, and the
 * notification pipeline asks for many users in one round trip (notifications/ports.ts
 * UserPresence, wired by main.ts). Nothing is announced for these records.
 */
import { SERVER_TO_USER_PREFIX } from './channels/channel-name.js';
import type { ChannelState } from './state/channel-state.js';

export class UserSignins {
  constructor(private readonly state: ChannelState) {}

  async signedIn(app: string, socketId: string, userId: string): Promise<void> {
    await this.state.join({ app, channel: SERVER_TO_USER_PREFIX + userId }, { socketId });
  }

  async signedOut(app: string, socketId: string, userId: string): Promise<void> {
    await this.state.leave({ app, channel: SERVER_TO_USER_PREFIX + userId }, socketId);
  }

  /** Users with at least one signed-in socket on any node. */
  async onlineUsers(app: string, userIds: readonly string[]): Promise<Set<string>> {
    const occupied = await this.state.occupiedOf(app, userIds.map((id) => SERVER_TO_USER_PREFIX + id));
    return new Set(userIds.filter((id) => occupied.has(SERVER_TO_USER_PREFIX + id)));
  }
}

/** Whether a shared-state change concerns a sign-in record rather than a channel subscription. */
export function isSigninRecord(channel: string): boolean {
  return channel.startsWith(SERVER_TO_USER_PREFIX);
}
