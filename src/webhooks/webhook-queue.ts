import { backoffDelay } from '../lib/backoff.js';
import type { Logger } from '../log/logger.js';
import type { QueueDriverSettings } from '../queue/queue-driver.js';
import { parseWebhookJob } from './webhook-job.js';
import type { WebhookJob } from './webhook-job.js';
import type { WebhookSettings } from './webhook-service.js';
import { DEAD_LETTERED, targetOf } from './webhook-service.js';

export const WEBHOOK_QUEUE_NAME = 'webhooks';
export const WEBHOOK_JOB_NAME = 'webhook';

/**
 * A few attempts beyond the service's own limit. The service moves a batch to the
 * dead-letter list itself at `maxAttempts`; the queue's cap only ends a job whose
 * handler kept throwing (the dead-letter store unreachable), so such a job gets a
 * few more chances before it is given up and logged.
 */
const EXTRA_ATTEMPTS_FOR_INFRASTRUCTURE = 3;

/** The settings of the `webhooks` queue, for whichever driver main.ts picks. */
export function webhookQueueSettings(settings: WebhookSettings, log: Logger): QueueDriverSettings<WebhookJob> {
  const policy = { baseMs: settings.backoffBaseMs, maxMs: settings.backoffMaxMs };
  return {
    name: WEBHOOK_QUEUE_NAME,
    jobName: WEBHOOK_JOB_NAME,
    parse: parseWebhookJob,
    maxJobAttempts: settings.maxAttempts + EXTRA_ATTEMPTS_FOR_INFRASTRUCTURE,
    backoff: (attempt) => backoffDelay(attempt, policy),
    onInvalid: ({ id, error }) => log.error({ job: id, error }, 'webhook job data is invalid: dropped'),
    onFailed: ({ id, reason, data }) => {
      if (reason.startsWith(DEAD_LETTERED)) return;
      log.error({ job: id, app: data.app, target: targetOf(data.url), events: data.events, reason }, 'webhook job failed and could not be dead-lettered');
    },
    onError: ({ id, error }) => log.error({ job: id, err: error }, 'webhook job handler failed'),
  };
}
