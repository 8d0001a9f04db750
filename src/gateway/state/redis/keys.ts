import type { ChannelRef } from '../channel-state.js';

/**
 * Where shared gateway state lives, under `redis.keyPrefix`. Each group of keys a
 * Lua script touches together carries one hash tag, so on a Cluster a channel's
 * keys share a slot while different channels (and apps, and nodes) spread over
 * the shards. App ids and channel names cannot contain braces or colons, so the
 * tags are unambiguous. A prefix that itself holds a `{…}` tag puts every key in
 * one slot: still correct, just not spread.
 */
export class GatewayKeys {
  constructor(readonly prefix: string) {}

  /** Sorted set: node id → its last heartbeat (Redis server time, ms). */
  get nodes(): string {
    return `${this.prefix}:nodes`;
  }

  /** String: a random id of the data Redis holds; missing after Redis lost its data (see StateGeneration). */
  get generation(): string {
    return `${this.prefix}:generation`;
  }

  /** Hash: node id → the generation whose data the node has written its holdings back to. */
  get nodesSynced(): string {
    return `${this.prefix}:nodes:synced`;
  }

  channel(ref: ChannelRef): ChannelKeys {
    const base = `${this.prefix}:ch:{${ref.app}:${ref.channel}}`;
    return {
      sockets: `${base}:sockets`,
      users: `${base}:users`,
      info: `${base}:info`,
      order: `${base}:order`,
      seq: `${base}:seq`,
    };
  }

  /** Set: the app's channels that may be occupied (checked on read; see RedisChannelState.channels). */
  appChannels(app: string): string {
    return `${this.prefix}:app:{${app}}:channels`;
  }

  /** Set: the app's counted connections (socket ids). */
  appConnections(app: string): string {
    return `${this.prefix}:app:{${app}}:connections`;
  }

  /** Set: every connection and membership a node holds, so its survivors can undo them (see membership-record.ts). */
  nodeRecords(nodeId: string): string {
    return `${this.prefix}:node:{${nodeId}}:records`;
  }

  /** Held (SET NX PX) by whoever cleans up after the node: a reaper, or the node itself re-syncing. */
  nodeLock(nodeId: string): string {
    return `${this.prefix}:node:{${nodeId}}:lock`;
  }

  /** String: the last event of a cache channel, expiring with its TTL. */
  cache(ref: ChannelRef): string {
    return `${this.prefix}:cache:{${ref.app}:${ref.channel}}`;
  }
}

export interface ChannelKeys {
  /** Hash: socket id → user id ('' outside presence). Its length is the subscription count. */
  readonly sockets: string;
  /** Hash: user id → number of the user's sockets in the channel. Its length is the user count. */
  readonly users: string;
  /** Hash: user id → user_info JSON, from the user's first socket. */
  readonly info: string;
  /** Sorted set: user id → join sequence, for members in join order. */
  readonly order: string;
  /** Counter behind `order`. */
  readonly seq: string;
}

export function channelKeyList(keys: ChannelKeys): string[] {
  return [keys.sockets, keys.users, keys.info, keys.order, keys.seq];
}
