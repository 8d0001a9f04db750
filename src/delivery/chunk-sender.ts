import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { apnsFields } from '../notification/check-for-app.js';
import type { Provider, PushResult } from '../providers/provider.js';
import type { JobResult, QueueJob } from '../queue/queue-driver.js';
import type { ChunkJob } from './chunk-job.js';
import { CheckpointWriter } from './checkpoint-writer.js';
import type { NotificationFinisher } from './notification-finisher.js';
import type { StatusStore, TokenOutcome, TokenProgress } from './status-store.js';

export interface ChunkSenderOptions {
  store: StatusStore;
  /** Undefined when no app has APNs credentials: every token then fails with AppNotConfigured. */
  provider: Provider | undefined;
  finisher: NotificationFinisher;
  metrics: Metrics;
  log: Logger;
  /** Rounds a token may be rescheduled before it is failed with its last reason. */
  maxAttempts: number;
  /** Delay before resending a token whose provider gave no retry-after. */
  backoff(retries: number): number;
  now?: () => number;
}

/** The provider's way of saying "not sent: you stopped me" (the token is handed back, not retried). */
const handBackReasons = new Set(['Aborted', 'ShuttingDown']);

/**
 * Runs one chunk job: reads the chunk's checkpoint, sends the tokens that are neither
 * settled nor waiting for a retry-after, records every result as it arrives, and then
 * either finishes the chunk or asks the queue to come back when the earliest retry is
 * due, holding no worker slot in between. A re-run after a crash sends only what the
 * checkpoint does not show as settled.
 */
export class ChunkSender {
  private readonly now: () => number;

  constructor(private readonly o: ChunkSenderOptions) {
    this.now = o.now ?? Date.now;
  }

  readonly handle = async (job: QueueJob<ChunkJob>, signal: AbortSignal): Promise<JobResult> => {
    const chunk = job.data;
    const id = chunk.notification;
    const progress = await this.o.store.progress(id, chunk.from, chunk.tokens.length);
    const startedAt = this.now();
    const pending = offsetsWhere(progress, (p) => !p.settled);
    if (pending.length === 0) return this.complete(chunk);

    const expiration = chunk.apns.expiration ?? 0;
    if (expiration > 0 && expiration * 1000 <= startedAt) {
      await this.o.store.record(id, pending.map((offset) => ({ index: chunk.from + offset, kind: 'expired' as const })));
      this.o.metrics.notifications.inc({ app: chunk.app, status: 'expired' });
      return this.complete(chunk);
    }

    const due = pending.filter((offset) => dueAt(progress[offset]) <= startedAt);
    let nextDueAt = Math.min(...pending.filter((offset) => dueAt(progress[offset]) > startedAt).map((offset) => dueAt(progress[offset])));
    let retryReason: string | undefined;
    let handedBack = false;

    if (due.length > 0) {
      if (await this.o.store.firstSend(id, startedAt)) this.o.metrics.enqueueToSendSeconds.observe({ app: chunk.app }, Math.max(0, startedAt - chunk.createdAt) / 1000);
      const writer = new CheckpointWriter(this.o.store, id);
      for await (const result of this.send(chunk, due, signal)) {
        const offset = due[result.index];
        if (offset === undefined) continue;
        const outcome = this.judge(result, chunk.from + offset, progress[offset]);
        if (outcome === 'hand-back') {
          handedBack = true;
          continue;
        }
        if (outcome.kind === 'retry') {
          nextDueAt = Math.min(nextDueAt, outcome.at);
          if (result.outcome.type === 'retry' || result.outcome.type === 'credentials') retryReason ??= result.outcome.reason;
        }
        const behind = writer.add(outcome);
        if (behind) await behind;
      }
      await writer.flush();
    }

    if (handedBack || signal.aborted) return { type: 'delay', afterMs: 0 };
    if (Number.isFinite(nextDueAt)) {
      this.o.metrics.chunksRetried.inc({ app: chunk.app, reason: retryReason ?? 'waiting' });
      return { type: 'delay', afterMs: Math.max(0, nextDueAt - this.now()) };
    }
    return this.complete(chunk);
  };

  private send(chunk: ChunkJob, due: readonly number[], signal: AbortSignal): AsyncIterable<PushResult> {
    const tokens = due.map((offset) => chunk.tokens[offset] as string);
    const provider = this.o.provider;
    if (!provider || !provider.serves(chunk.app)) {
      return (async function* () {
        for (const [index, token] of tokens.entries()) {
          yield { token, index, outcome: { type: 'rejected', reason: 'AppNotConfigured', invalidToken: false } } satisfies PushResult;
        }
      })();
    }
    return provider.send({ app: chunk.app, notificationId: chunk.notification, tokens, ...apnsFields({ ...chunk.apns, tokens }) }, signal);
  }

  private judge(result: PushResult, index: number, before: TokenProgress | undefined): TokenOutcome | 'hand-back' {
    const outcome = result.outcome;
    switch (outcome.type) {
      case 'delivered':
        return { index, kind: 'delivered' };
      case 'rejected':
        return outcome.invalidToken
          ? { index, kind: 'failed', reason: outcome.reason, invalid: { token: result.token, reason: outcome.reason, ...(outcome.timestamp === undefined ? {} : { timestamp: outcome.timestamp }) } }
          : { index, kind: 'failed', reason: outcome.reason };
      case 'retry':
      case 'credentials': {
        if (outcome.type === 'retry' && handBackReasons.has(outcome.reason)) return 'hand-back';
        const retries = (before && !before.settled ? before.retries : 0) + 1;
        if (retries >= this.o.maxAttempts) return { index, kind: 'failed', reason: outcome.reason };
        return { index, kind: 'retry', retries, at: this.now() + (outcome.afterMs ?? this.o.backoff(retries)) };
      }
    }
  }

  private async complete(chunk: ChunkJob): Promise<JobResult> {
    await this.o.finisher.completeChunk(chunk.notification, chunk.chunk);
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
