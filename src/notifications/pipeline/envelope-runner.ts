import type { JobResult, QueueJob } from '../../queue/queue-driver.js';
import type { Envelope } from '../contract/envelope.js';
import type { Dispatcher } from './dispatcher.js';
import type { NotificationFinisher } from './finisher.js';

export interface EnvelopeRunnerOptions {
  dispatcher: Pick<Dispatcher, 'run'>;
  finisher: Pick<NotificationFinisher, 'fail'>;
  /** Fails the entries that are not valid notifications (queues.ts). */
  failInvalid(job: string, envelope: Envelope): void;
}

/**
 * Runs an envelope job: every notification in it at once, each as its own `notify` job
 * would run (dispatcher.ts), so the status store's steps of all of them go out together.
 * The envelope finishes when all are done; when one asks for a delay (a send time, a
 * provider's retry-after, a hand-back at shutdown) the whole envelope comes back then,
 * and its next run skips what finished and resumes the rest from their checkpoints.
 * A notification that fails for good is failed on its own; an error retries the envelope.
 */
export class EnvelopeRunner {
  constructor(private readonly o: EnvelopeRunnerOptions) {}

  readonly handle = async (job: QueueJob<Envelope>, signal: AbortSignal): Promise<JobResult> => {
    const { notifications } = job.data;
    if (job.attempt === 1 && (job.data.invalid?.length ?? 0) > 0) this.o.failInvalid(job.id, job.data);
    const results = await Promise.allSettled(notifications.map((n) => this.o.dispatcher.run(n, job, signal)));
    let delay: number | undefined;
    let error: unknown;
    const failures: Array<Promise<void>> = [];
    results.forEach((result, index) => {
      const n = notifications[index];
      if (!n) return;
      if (result.status === 'rejected') {
        error ??= result.reason;
        return;
      }
      const outcome = result.value;
      if (outcome.type === 'delay') delay = Math.min(delay ?? Infinity, outcome.afterMs);
      else if (outcome.type === 'failed') failures.push(this.o.finisher.fail({ app: n.app, id: n.id }, outcome.reason));
      else if (outcome.type === 'failed-attempt') error ??= new Error(outcome.reason);
    });
    await Promise.all(failures);
    // The queue retries the envelope with its backoff; what finished is skipped then.
    if (error !== undefined) throw error;
    return delay === undefined ? { type: 'done' } : { type: 'delay', afterMs: delay };
  };
}
