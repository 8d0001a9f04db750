import type { ChannelRef, PresenceMember } from '../channel-state.js';
import { connectionRecord, membershipRecord } from './node-records.js';

export interface HeldMembership {
  readonly ref: ChannelRef;
  readonly socketId: string;
  readonly member?: PresenceMember;
}

/**
 * What this node's live sockets hold in shared state, kept in process: the truth
 * a re-sync writes back to Redis after Redis lost it (restart, failover) or after
 * the node was taken for dead. Keyed by the node record each item is stored under.
 */
export class NodeHoldings {
  private readonly connections = new Map<string, { app: string; socketId: string }>();
  private readonly memberships = new Map<string, HeldMembership>();

  addConnection(app: string, socketId: string): void {
    this.connections.set(connectionRecord(app, socketId), { app, socketId });
  }

  removeConnection(app: string, socketId: string): void {
    this.connections.delete(connectionRecord(app, socketId));
  }

  addMembership(ref: ChannelRef, socketId: string, member: PresenceMember | undefined): void {
    const held: HeldMembership = member ? { ref, socketId, member } : { ref, socketId };
    this.memberships.set(membershipRecord(ref, socketId), held);
  }

  /** Returns what was held, if anything. */
  removeMembership(ref: ChannelRef, socketId: string): HeldMembership | undefined {
    const record = membershipRecord(ref, socketId);
    const held = this.memberships.get(record);
    this.memberships.delete(record);
    return held;
  }

  /** Whether a node record (as stored in Redis) describes something this node still holds. */
  holds(record: string): boolean {
    return this.connections.has(record) || this.memberships.has(record);
  }

  allConnections(): Array<{ record: string; app: string; socketId: string }> {
    return [...this.connections].map(([record, c]) => ({ record, ...c }));
  }

  allMemberships(): Array<{ record: string } & HeldMembership> {
    return [...this.memberships].map(([record, m]) => ({ record, ...m }));
  }
}
