export interface ChannelRef {
  app: string;
  channel: string;
}

export interface PresenceMember {
  userId: string;
  userInfo: unknown;
}

/** Occupancy and presence, in memory for one node or in Redis for a cluster. */
export interface ChannelState {
  join(ref: ChannelRef, socketId: string, member?: PresenceMember): Promise<{ firstSocket: boolean; firstForUser: boolean }>;
  leave(ref: ChannelRef, socketId: string): Promise<{ lastSocket: boolean; lastForUser: boolean; member?: PresenceMember }>;
  members(ref: ChannelRef): Promise<PresenceMember[]>;
  subscriptionCount(ref: ChannelRef): Promise<number>;
  channels(app: string, prefix?: string): Promise<Map<string, { subscriptionCount: number; userCount?: number }>>;
}
