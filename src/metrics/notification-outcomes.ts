import type { Counter } from 'prom-client';

/** What happened to a notification, as the intake, the worker and the finisher report it. */
export type NotificationOutcome = 'accepted' | 'duplicate' | 'completed' | 'failed' | 'expired';

/**
 * Routes each outcome to its own counter. Intake (accepted, duplicate) and completion
 * (completed, failed) once shared one counter under `status`, so summing it counted every
 * notification twice; now each counter's series add up to something meaningful.
 */
export class NotificationOutcomes {
  constructor(
    private readonly counters: {
      /** New notifications: each app and id once. */
      accepted: Counter<'app'>;
      /** Repeats of an app and id already known. */
      duplicates: Counter<'app'>;
      /** Final states, each notification once: `state` is completed or failed. */
      finished: Counter<'app' | 'state'>;
      /** Finished notifications some of whose tokens expired (also in `finished`). */
      withExpiredTokens: Counter<'app'>;
    },
  ) {}

  inc(labels: { app: string; status: NotificationOutcome }): void {
    const { app, status } = labels;
    switch (status) {
      case 'accepted':
        this.counters.accepted.inc({ app });
        return;
      case 'duplicate':
        this.counters.duplicates.inc({ app });
        return;
      case 'completed':
      case 'failed':
        this.counters.finished.inc({ app, state: status });
        return;
      case 'expired':
        this.counters.withExpiredTokens.inc({ app });
        return;
    }
  }
}
