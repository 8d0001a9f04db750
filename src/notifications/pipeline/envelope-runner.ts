import type { JobResult, QueueJob } from '../../queue/queue-driver.js';
import type { Envelope } from '../contract/envelope.js';
import type { Notification } from '../contract/notification-schema.js';
import type { Dispatcher } from './dispatcher.js';
import type { NotificationFinisher } from './finisher.js';

export interface EnvelopeRunnerOptions {
  dispatcher: Pick<Dispatcher, 'run'>;
  finisher: Pick<NotificationFinisher, 'fail'>;
  /** Fails the entries that are not valid notifications (queues.ts). */
  failInvalid(job: string, envelope: Envelope): void;
  /** Notifications of one envelope running at once (config `queue.envelopeLanes`). */
  lanes: number;
}

/** A notification not started because the job was told to stop: it comes back with the envelope. */
const HANDED_BACK: PromiseSettledResult<JobResult> = { status: 'fulfilled', value: { type: 'delay', afterMs: 0 } };

/**
 * Runs an envelope job: its notifications in order, `lanes` at once, each as its own
 * `notify` job would run (dispatcher.ts), so the status store's steps of those running go
 * out together. More at once than the provider can answer would only wait, holding their
 * state in memory (docs/performance.md "Lanes per envelope"). The envelope finishes when
 * all are done; when one asks for a delay (a send time, a provider's retry-after, a
 * hand-back at shutdown) the whole envelope comes back then, and its next run skips what
 * finished and resumes the rest from their checkpoints. Once the job is told to stop, no
 * more are started: they come back with it. A notification that fails for good is failed
 * on its own; an error retries the envelope.
 */
export class EnvelopeRunner {
  constructor(private readonly o: EnvelopeRunnerOptions) {}

  readonly handle = async (job: QueueJob<Envelope>, signal: AbortSignal): Promise<JobResult> => {
    const { notifications } = job.data;
    if (job.attempt === 1 && (job.data.invalid?.length ?? 0) > 0) this.o.failInvalid(job.id, job.data);
    const results = await this.runAll(notifications, job, signal);
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

  /** Every notification's outcome, by index, settled as `Promise.allSettled` would; one that throws does not stop the others. */
  private async runAll(notifications: readonly Notification[], job: QueueJob<Envelope>, signal: AbortSignal): Promise<Array<PromiseSettledResult<JobResult>>> {
    const results = new Array<PromiseSettledResult<JobResult>>(notifications.length).fill(HANDED_BACK);
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < notifications.length && !signal.aborted) {
        const index = next;
        next += 1;
        try {
          results[index] = { status: 'fulfilled', value: await this.o.dispatcher.run(notifications[index] as Notification, job, signal) };
        } catch (reason) {
          results[index] = { status: 'rejected', reason };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.o.lanes, notifications.length)) }, lane));
    return results;
  }
}
