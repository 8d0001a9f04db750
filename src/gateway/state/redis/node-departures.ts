import type { HeldMembership } from './node-holdings.js';

/**
 * Memberships this node's sockets ended that Redis may not have applied: the leave
 * failed (Redis away) or found nothing (Redis had lost it). Until Redis confirms a
 * leave, the membership is still part of what the cluster last announced; if Redis
 * lost its data meanwhile, the re-sync writes it back unannounced and then removes
 * it once every node has re-synced, so its member_removed is announced exactly once.
 * Keyed by node record.
 */
export class NodeDepartures {
  private readonly departed = new Map<string, HeldMembership>();

  add(record: string, held: HeldMembership): void {
    this.departed.set(record, held);
  }

  /** Redis applied the leave (or the socket joined again): nothing left to settle. */
  delete(record: string): void {
    this.departed.delete(record);
  }

  has(record: string): boolean {
    return this.departed.has(record);
  }

  all(): Array<{ record: string } & HeldMembership> {
    return [...this.departed].map(([record, m]) => ({ record, ...m }));
  }

  /** What is departed now, for `settle` at the end of a re-sync. */
  snapshot(): ReadonlyMap<string, HeldMembership> {
    return new Map(this.departed);
  }

  /** Forgets what a re-sync has settled, keeping departures that arrived meanwhile. */
  settle(snapshot: ReadonlyMap<string, HeldMembership>): void {
    for (const [record, held] of snapshot) if (this.departed.get(record) === held) this.departed.delete(record);
  }
}
