import { setLongTimeout } from '../lib/long-timer.js';
import type { EnqueueOptions, QueueDriver } from '../queue/queue-driver.js';
import { MAX_SHARED_TOKENS, SHARED_ENVELOPE_ENQUEUE, envelopeJobId, singleEnvelopeJobId } from './contract/envelope.js';
import type { Envelope } from './contract/envelope.js';
import type { Notification } from './contract/notification-schema.js';
import { partitionOf } from './contract/partitions.js';
import type { CreateResult, StatusStore } from './status/status-store.js';

/** Notifications one group may hold: an envelope stays a few MB at most (only notifications of at most MAX_SHARED_TOKENS tokens are grouped). */
const MAX_GROUP = 200;

/**
 * Group writes of one partition under way at once. While one is, what arrives waits in
 * the open group and goes as the next write when it lands: the busier the intake, the
 * larger the groups, and an idle intake still writes at the end of the turn.
 */
const WRITES_IN_FLIGHT = 1;

/** What committing one notification found: queued now by this call, or known already. */
export type Commit = { status: 'accepted'; created: boolean } | { status: 'duplicate' };

export interface CommitPlan {
  tokens: number;
  chunks: number;
  /** `sendAt` (ms), 0 for none. */
  notBefore: number;
  delayMs: number;
}

interface Pending {
  n: Notification;
  plan: CommitPlan;
  resolve(commit: Commit): void;
  reject(err: unknown): void;
  /** Later calls for the same id within the group: duplicates of this one. */
  repeats: Array<{ resolve(commit: Commit): void; reject(err: unknown): void }>;
}

export interface GroupCommitOptions {
  /** The `notification-batches` queue of each partition, by partition. */
  envelopes: ReadonlyArray<QueueDriver<Envelope>>;
  store: StatusStore;
  /** How long a group stays open; 0: until the end of the current turn of the event loop. */
  windowMs: number;
  now: () => number;
}

/**
 * Makes accepted notifications durable in groups (docs/queue.md "Group commit"): the
 * notifications of one partition accepted within one window become one envelope job (one
 * queue write) and their status records one script call, after which each caller learns
 * whether its notification was queued by it or was known already. Every caller is answered
 * only once both writes landed, so a 202 still means "durable in Redis".
 */
export class GroupCommit {
  private readonly groups = new Map<number, Map<string, Pending>>();
  /** Group writes under way, by partition. */
  private readonly writing = new Map<number, number>();
  private timer: (() => void) | undefined;

  constructor(private readonly o: GroupCommitOptions) {}

  commit(n: Notification, plan: CommitPlan): Promise<Commit> {
    const partition = partitionOf(n, this.o.envelopes.length);
    if (plan.delayMs > 0 || plan.tokens > MAX_SHARED_TOKENS) {
      return new Promise((resolve, reject) => {
        void this.write(partition, [{ n, plan, resolve, reject, repeats: [] }], singleEnvelopeJobId(n), plan.delayMs > 0 ? { delayMs: plan.delayMs } : {});
      });
    }
    return new Promise((resolve, reject) => {
      let group = this.groups.get(partition);
      if (!group) {
        group = new Map();
        this.groups.set(partition, group);
      }
      const key = `${n.app}\u0000${n.id}`;
      const first = group.get(key);
      if (first) {
        first.repeats.push({ resolve, reject });
        return;
      }
      group.set(key, { n, plan, resolve, reject, repeats: [] });
      if (group.size >= MAX_GROUP) this.flushPartition(partition);
      // A write under way flushes this group when it lands.
      else if ((this.writing.get(partition) ?? 0) < WRITES_IN_FLIGHT) this.schedule();
    });
  }

  private schedule(): void {
    if (this.timer) return;
    if (this.o.windowMs === 0) {
      const immediate = setImmediate(() => this.flush());
      this.timer = () => clearImmediate(immediate);
    } else {
      const timer = setLongTimeout(() => this.flush(), this.o.windowMs);
      this.timer = () => timer.clear();
    }
  }

  private flush(): void {
    this.timer = undefined;
    for (const partition of [...this.groups.keys()]) {
      if ((this.writing.get(partition) ?? 0) < WRITES_IN_FLIGHT) this.flushPartition(partition);
    }
  }

  private flushPartition(partition: number): void {
    const group = this.groups.get(partition);
    this.groups.delete(partition);
    if (!group || group.size === 0) return;
    this.writing.set(partition, (this.writing.get(partition) ?? 0) + 1);
    void this.write(partition, [...group.values()], envelopeJobId(partition), SHARED_ENVELOPE_ENQUEUE).finally(() => {
      const left = (this.writing.get(partition) ?? 1) - 1;
      if (left > 0) this.writing.set(partition, left);
      else this.writing.delete(partition);
      // What arrived meanwhile goes next (with the rest of this turn).
      if (this.groups.has(partition)) this.schedule();
    });
  }

  /** The envelope first, then the records: a record never exists without the job that delivers it. Settles once every caller is answered; never rejects. */
  private write(partition: number, entries: readonly Pending[], job: string, options: EnqueueOptions): Promise<void> {
    const queue = this.o.envelopes[partition];
    const written = (async () => {
      if (!queue) throw new Error(`no envelope queue for partition ${partition}`);
      const queued = await queue.enqueue(job, { v: 1, notifications: entries.map((e) => e.n) }, options);
      const createdAt = this.o.now();
      // A travelling-alone job already known is an earlier call's: its record, if any, is that call's too.
      const owner = queued.duplicate ? '' : job;
      const records = await Promise.all(entries.map(({ n, plan }) => this.o.store.create({ app: n.app, id: n.id, createdAt, tokens: plan.tokens, chunks: plan.chunks, notBefore: plan.notBefore, owner: job })));
      return { records, owner };
    })();
    return written.then(
      ({ records, owner }) => {
        entries.forEach((entry, index) => {
          const commit = judge(records[index], owner);
          entry.resolve(commit);
          for (const repeat of entry.repeats) repeat.resolve({ status: 'duplicate' });
        });
      },
      (err: unknown) => {
        for (const entry of entries) {
          entry.reject(err);
          for (const repeat of entry.repeats) repeat.reject(err);
        }
      },
    );
  }
}

/** Ours when made now, or made by a worker that ran this very envelope first (`owner` '': the job was an earlier call's). */
function judge(record: CreateResult | undefined, owner: string): Commit {
  if (!record || record.created) return { status: 'accepted', created: true };
  return owner !== '' && record.owner === owner ? { status: 'accepted', created: false } : { status: 'duplicate' };
}
