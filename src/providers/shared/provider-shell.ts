/**
 * What every provider's outer class shares: its construction options, the retry policy
 * it gives each app, the batch it answers without sending, its /ready warnings and its
 * stop signal.
 */
import { setMaxListeners } from 'node:events';
import type { AppConfig } from '../../config/load.js';
import type { EventBus } from '../../events.js';
import { HeraldError, collectProblems } from '../../errors.js';
import type { BackoffPolicy } from '../../lib/backoff.js';
import type { Logger } from '../../log/logger.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { ProviderHealth, PushBatch, PushOutcome, PushResult } from '../provider.js';
import { defaultRetryTuning } from './retry-policy.js';
import type { RetryPolicy } from './retry-policy.js';

export interface ProviderOptions {
  /** Every configured app; those with this provider's block are served. */
  apps: readonly AppConfig[];
  log: Logger;
  metrics: Metrics;
  events: EventBus;
  /** Clock for token expiry, cool-downs and retry times; tests move it. */
  now?: () => number;
  /** Backoff for 5xx, network errors and connects, and the longest wait spent inside a batch. */
  retry?: { backoff?: BackoffPolicy; maxInlineWaitMs?: number };
}

/** An app's retry policy: its own attempt limit, the provider's backoff and inline wait. */
export function retryPolicy(maxAttempts: number, tuning: ProviderOptions['retry']): RetryPolicy {
  return { maxAttempts, backoff: tuning?.backoff ?? defaultRetryTuning.backoff, maxInlineWaitMs: tuning?.maxInlineWaitMs ?? defaultRetryTuning.maxInlineWaitMs };
}

/** The same outcome for every token of a batch nothing is sent for (app not configured, message refused). */
export async function* everyToken(batch: PushBatch, outcome: PushOutcome): AsyncGenerator<PushResult> {
  for (const [index, token] of batch.tokens.entries()) yield { token, index, outcome };
}

/** The apps whose health() fails, for /ready's warnings: never a readiness failure, the process still serves the rest. */
export function unhealthyApps(apps: Iterable<string>, health: (app: string) => ProviderHealth, fallback: string): Array<{ app: string; detail: string }> {
  return [...apps].flatMap((app) => {
    const state = health(app);
    return state.ok ? [] : [{ app, detail: state.detail ?? fallback }];
  });
}

/**
 * Aborts `stopping` (every batch hands back its unsent tokens as `ShuttingDown`) when
 * `deadline` fires; the returned function aborts it at once, for when the provider has
 * let its requests in flight finish.
 */
export function stopAtDeadline(stopping: AbortController, deadline: AbortSignal): () => void {
  const abort = (): void => stopping.abort(new HeraldError('HERALD_SHUTTING_DOWN'));
  if (deadline.aborted) abort();
  else deadline.addEventListener('abort', abort, { once: true });
  return abort;
}

/**
 * Opens every app's credentials with `open` (`undefined`: the app has none for this
 * provider), naming every bad app at once; `what` heads the HERALD_CREDENTIALS_INVALID message.
 */
export function openEveryApp<T>(apps: readonly AppConfig[], open: (app: AppConfig) => T | undefined, what: string): T[] {
  const { results, problems } = collectProblems(apps, open);
  if (problems.length > 0) throw new HeraldError('HERALD_CREDENTIALS_INVALID', `${what} cannot be used:\n  - ${problems.join('\n  - ')}`);
  return results.filter((result): result is T => result !== undefined);
}

/** The provider's stop: every batch being sent, and every request waiting for a connection, listens to it (dozens at once is normal). */
export function stopController(): AbortController {
  const stopping = new AbortController();
  setMaxListeners(0, stopping.signal);
  return stopping;
}

/**
 * A provider's part of a reload: every app's new credentials opened and checked, and
 * nothing changed yet. apply() swaps them in and cannot fail; call it at once (no await
 * in between), since it was worked out against the provider's state of that moment.
 */
export interface PreparedReload {
  apply(): void;
}
