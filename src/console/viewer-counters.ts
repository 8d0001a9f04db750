import type { Metrics } from '../metrics/metrics.js';
import type { ViewerCounters } from './viewer.js';

/** A viewer's counters on the registry: what it was sent, what it skipped, why it was dropped. */
export function viewerCounters(metrics: Metrics): ViewerCounters {
  return {
    sent: (bytes) => {
      metrics.consoleEvents.inc({ status: 'sent' });
      metrics.consoleBytes.inc(bytes);
    },
    sampled: () => metrics.consoleEvents.inc({ status: 'sampled' }),
    dropped: (reason) => metrics.consoleViewersDropped.inc({ reason }),
  };
}
