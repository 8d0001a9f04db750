import type { AppStore } from '../../apps/app-store.js';
import type { Logger } from '../../log/logger.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { Provider, ProviderKind } from '../../providers/provider.js';
import type { JobResult, QueueJob } from '../../queue/queue-driver.js';
import type { ChunkJob } from './chunk-job.js';
import { CheckpointWriter } from './checkpoint-writer.js';
import type { NotificationFinisher } from './finisher.js';
import { CHECKPOINT_WINDOW, SendBudget } from './send-budget.js';
import { TokenRound } from './token-round.js';
import type { StatusStore, TokenCheckpoint, TokenProgress } from '../status/status-store.js';

export interface ChunkSenderOptions {
  apps: AppStore;
  store: StatusStore;
  /** Undefined when no app has APNs credentials: every token then fails with AppNotConfigured. */
  provider: Provider | undefined;
  /** FCM and Web Push (and APNs when `provider` is absent) by kind; absent: only APNs sends. */
  providers?: { byKind(kind: ProviderKind): Provider | undefined };
  finisher: NotificationFinisher;
  metrics: Metrics;
  log: Logger;
  /** Sending rounds a token gets before it is failed with its last reason. */
  maxTokenRounds: number;
  /** Delay before resending a token whose provider gave no retry-after. */
  backoff(retries: number): number;
  now?: () => number;
}

/** An app without an APNs block still gets a budget (its tokens fail at once). */
const DEFAULT_STREAMS = 500;

/**
 * Runs one chunk job: reads the chunk's checkpoint, sends the tokens that are neither
 * settled nor waiting for a retry-after, records every result as it arrives, and then
 * either finishes the chunk or asks the queue to come back when the earliest retry is
 * due, holding no worker slot in between. A re-run after a crash sends only what the
 * checkpoint does not show as settled.
 */
export class ChunkSender {
  private readonly now: () => number;
  /** One per app, shared by every chunk this process sends for it. */
  private readonly budgets = new Map<string, SendBudget>();

  constructor(private readonly o: ChunkSenderOptions) {
    this.now = o.now ?? Date.now;
  }

  /** `fresh`: nothing of the chunk can have been sent before (its notification was still queued), so there is no checkpoint to read. */
  readonly handle = async (job: QueueJob<ChunkJob>, signal: AbortSignal, fresh = false): Promise<JobResult> => {
    const chunk = job.data;
    // Ids are per app: the status of a chunk's notification is found by both.
    const id = { app: chunk.app, id: chunk.notification };
    const progress: TokenProgress[] = fresh ? chunk.tokens.map(() => ({ settled: false, retries: 0, dueAt: 0 })) : await this.o.store.progress(id, chunk.from, chunk.tokens.length);
    const startedAt = this.now();
    const pending = offsetsWhere(progress, (p) => !p.settled);
    if (pending.length === 0) return this.complete(chunk);

    const expiration = chunk.apns?.expiration ?? 0;
    if (expiration > 0 && expiration * 1000 <= startedAt) {
      return this.complete(chunk, pending.map((offset) => ({ index: chunk.from + offset, kind: 'expired' as const })));
    }

    const due = pending.filter((offset) => dueAt(progress[offset]) <= startedAt);
    const waiting = pending.filter((offset) => dueAt(progress[offset]) > startedAt).map((offset) => dueAt(progress[offset]));
    let nextDueAt = Math.min(Infinity, ...waiting);
    let retryReason: string | undefined;
    let handedBack = false;
    let writer: CheckpointWriter | undefined;

    if (due.length > 0) {
      if (fresh || (await this.o.store.firstSend(id, startedAt))) {
        this.o.metrics.enqueueToSendSeconds.observe({ app: chunk.app }, Math.max(0, startedAt - chunk.createdAt) / 1000);
      }
      const budget = this.budgetFor(chunk.app);
      writer = new CheckpointWriter(this.o.store, id, (count) => budget.release(count));
      // Fields named, not the options spread: a spread of this many properties per chunk showed in profiles.
      const round = new TokenRound({ chunk, progress, providerFor: this.providerFor, budget, writer, maxTokenRounds: this.o.maxTokenRounds, backoff: this.o.backoff, now: this.now });
      let sent = false;
      try {
        await round.run(due, signal);
        sent = true;
      } finally {
        if (!sent) await writer.flush(signal);
      }
      nextDueAt = Math.min(nextDueAt, round.nextDueAt);
      retryReason = round.retryReason;
      handedBack = round.handedBack;
    }

    // Waits while checkpoint writes fail (Redis down): the tokens sent stay in the budget until recorded.
    if (handedBack || signal.aborted || Number.isFinite(nextDueAt)) {
      await writer?.flush(signal);
      // A fresh run counted its first send without writing it; the run that comes back must not count it again.
      if (fresh && due.length > 0) await this.o.store.firstSend(id, startedAt);
    }
    if (handedBack || signal.aborted) return { type: 'delay', afterMs: 0 };
    if (Number.isFinite(nextDueAt)) {
      this.o.metrics.chunksRetried.inc({ app: chunk.app, reason: retryReason ?? 'waiting' });
      return { type: 'delay', afterMs: Math.max(0, nextDueAt - this.now()) };
    }
    // The last checkpoints are recorded by the write that completes the chunk.
    if (writer) return writer.finish((checkpoints) => this.complete(chunk, checkpoints), signal);
    return this.complete(chunk);
  };

  private readonly providerFor = (kind: ProviderKind): Provider | undefined => (kind === 'apns' ? (this.o.provider ?? this.o.providers?.byKind(kind)) : this.o.providers?.byKind(kind));

  private budgetFor(app: string): SendBudget {
    let budget = this.budgets.get(app);
    if (!budget) {
      budget = new SendBudget((this.o.apps.byId(app)?.apns?.maxConcurrentStreams ?? DEFAULT_STREAMS) + CHECKPOINT_WINDOW);
      this.budgets.set(app, budget);
    }
    return budget;
  }

  private async complete(chunk: ChunkJob, checkpoints?: readonly TokenCheckpoint[]): Promise<JobResult> {
    await this.o.finisher.completeChunk({ app: chunk.app, id: chunk.notification }, chunk.chunk, checkpoints);
    return { type: 'done' };
  }
}

function offsetsWhere(progress: readonly TokenProgress[], test: (p: TokenProgress) => boolean): number[] {
  const offsets: number[] = [];
  progress.forEach((p, offset) => {
    if (test(p)) offsets.push(offset);
  });
  return offsets;
}

function dueAt(progress: TokenProgress | undefined): number {
  return progress && !progress.settled ? progress.dueAt : 0;
}
