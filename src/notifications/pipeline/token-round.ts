import { childController } from '../../lib/abort-watch.js';
import type { Provider, ProviderKind, PushResult } from '../../providers/provider.js';
import { chunkPlatformOf, pushBatch } from './push-batch.js';
import type { ChunkJob } from './chunk-job.js';
import type { CheckpointWriter } from './checkpoint-writer.js';
import type { SendBudget } from './send-budget.js';
import type { CountedPlatform, TokenCheckpoint, TokenProgress } from '../status/status-store.js';

export interface TokenRoundOptions {
  chunk: ChunkJob;
  /** The chunk's checkpoint as read at the start of the job, by offset. */
  progress: readonly TokenProgress[];
  /** The provider of a platform; undefined when no app is configured for it. */
  providerFor(kind: ProviderKind): Provider | undefined;
  budget: SendBudget;
  writer: CheckpointWriter;
  /** Sending rounds a token gets before it is failed with its last reason. */
  maxTokenRounds: number;
  backoff(retries: number): number;
  now: () => number;
}

/** The provider's way of saying "not sent: you stopped me": the token is handed back, not retried. */
const handBackReasons = new Set(['Aborted', 'ShuttingDown']);

/**
 * One sending round over a chunk's due tokens. Tokens go to the provider in small
 * batches, each only once the app's send budget has room for it, and the budget is
 * given back as outcomes reach the checkpoint. The provider pulls tokens as its stream
 * limit allows; consuming its results as they come keeps no promise per token.
 */
export class TokenRound {
  nextDueAt = Infinity;
  retryReason: string | undefined;
  handedBack = false;

  /** FCM and Web Push tokens are counted apart in the status (APNs is the rest). */
  private readonly platform: { platform?: CountedPlatform };

  constructor(private readonly o: TokenRoundOptions) {
    const kind = chunkPlatformOf(o.chunk);
    this.platform = kind === 'apns' ? {} : { platform: kind };
  }

  async run(due: readonly number[], signal: AbortSignal): Promise<void> {
    const { budget, writer } = this.o;
    const batchLimit = Math.max(1, Math.ceil(budget.capacity / 4));
    if (due.length > 0 && budget.waiting === 0 && due.length <= Math.min(batchLimit, budget.available) && !signal.aborted && !writer.failed) {
      // One batch has no siblings to stop when it fails: it runs under the caller's signal.
      budget.take(due.length);
      return this.sendBatch(due, signal);
    }
    if (due.length === 1) return this.sendOneInTurn(due, signal);
    const { controller: stop, release } = childController(signal);
    try {
      await this.runBatches(due, stop, batchLimit);
    } finally {
      release();
    }
  }

  /**
   * One token (a one-token notification, the common case) waits its turn for room in the
   * budget, then goes as one batch under the caller's signal: no batches to track.
   */
  private async sendOneInTurn(due: readonly number[], signal: AbortSignal): Promise<void> {
    const { budget, writer } = this.o;
    // In turn: behind the rounds already waiting; once woken, the room freed is its own.
    let woken = false;
    while ((budget.available === 0 || (!woken && budget.waiting > 0)) && !signal.aborted && !writer.failed) {
      await budget.wait(1).ready;
      woken = true;
    }
    if (signal.aborted || writer.failed) {
      this.handedBack = true;
      return;
    }
    budget.take(1);
    return this.sendBatch(due, signal);
  }

  /** Sends `due` in batches as the budget allows; the first batch to fail stops the others. */
  private async runBatches(due: readonly number[], stop: AbortController, batchLimit: number): Promise<void> {
    const { budget, writer } = this.o;
    const signal = stop.signal;
    const running = new Set<Promise<void>>();
    let next = 0;
    let failure: unknown;
    for (;;) {
      const blocked = signal.aborted || writer.failed || failure !== undefined;
      const room = budget.available;
      if (!blocked && next < due.length && room > 0) {
        const offsets = due.slice(next, next + Math.min(room, batchLimit));
        next += offsets.length;
        budget.take(offsets.length);
        const batch: Promise<void> = this.sendBatch(offsets, signal).then(
          () => {
            running.delete(batch);
          },
          (err: unknown) => {
            failure ??= err;
            stop.abort(err);
            running.delete(batch);
          },
        );
        running.add(batch);
        continue;
      }
      if (running.size === 0 && (blocked || next >= due.length)) break;
      if (blocked || next >= due.length) {
        await Promise.race(running);
        continue;
      }
      const turn = budget.wait(Math.min(due.length - next, batchLimit));
      try {
        await Promise.race([...running, turn.ready]);
      } finally {
        turn.cancel();
      }
    }
    if (next < due.length) this.handedBack = true;
    if (failure !== undefined) throw failure;
  }

  /** Sends one batch; every token taken from the budget is given back exactly once. */
  private async sendBatch(offsets: readonly number[], signal: AbortSignal): Promise<void> {
    const { chunk, budget, writer } = this.o;
    let accounted = 0;
    try {
      for await (const result of this.results(offsets, signal)) {
        const offset = offsets[result.index];
        if (offset === undefined) continue;
        accounted += 1;
        const checkpoint = this.judge(result, chunk.from + offset, this.o.progress[offset]);
        if (checkpoint === 'hand-back') {
          this.handedBack = true;
          budget.release(1);
          continue;
        }
        writer.add(checkpoint);
      }
    } finally {
      budget.release(offsets.length - accounted);
    }
  }

  private results(offsets: readonly number[], signal: AbortSignal): AsyncIterable<PushResult> {
    const { chunk } = this.o;
    const tokens = offsets.map((offset) => chunk.tokens[offset] as string);
    const provider = this.o.providerFor(chunkPlatformOf(chunk));
    const batch = pushBatch(chunk, tokens);
    if (!provider || !provider.serves(chunk.app) || !batch) return notConfigured(tokens);
    return provider.send(batch, signal);
  }

  private judge(result: PushResult, index: number, before: TokenProgress | undefined): TokenCheckpoint | 'hand-back' {
    const outcome = result.outcome;
    const platform = this.platform;
    switch (outcome.type) {
      case 'delivered':
        // Written out for APNs, the common case: a spread costs more than the object.
        return platform.platform === undefined ? { index, kind: 'delivered' } : { index, kind: 'delivered', ...platform };
      case 'rejected':
        if (!outcome.invalidToken) return { index, kind: 'failed', reason: outcome.reason, ...platform };
        return { index, kind: 'failed', reason: outcome.reason, invalid: { token: result.token, reason: outcome.reason, ...(outcome.timestamp === undefined ? {} : { timestamp: outcome.timestamp }) }, ...platform };
      case 'retry':
      case 'credentials': {
        if (outcome.type === 'retry' && handBackReasons.has(outcome.reason)) return 'hand-back';
        const retries = (before && !before.settled ? before.retries : 0) + 1;
        if (retries >= this.o.maxTokenRounds) return { index, kind: 'failed', reason: outcome.reason, ...platform };
        const at = this.o.now() + (outcome.afterMs ?? this.o.backoff(retries));
        this.nextDueAt = Math.min(this.nextDueAt, at);
        this.retryReason ??= outcome.reason;
        return { index, kind: 'rescheduled', retries, at };
      }
    }
  }
}

async function* notConfigured(tokens: readonly string[]): AsyncGenerator<PushResult> {
  for (const [index, token] of tokens.entries()) yield { token, index, outcome: { type: 'rejected', reason: 'AppNotConfigured', invalidToken: false } };
}
