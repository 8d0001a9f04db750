/**
 * Where every provider records its requests, retries, invalid tokens, in-flight count
 * and credentials state: the herald_push_* families, under the provider's `provider`
 * label. APNs also keeps its own herald_apns_* families (the dashboard, the alert rules
 * and the runbook are built on them); they are written here too, so the APNs provider
 * records each measure once, as FCM and Web Push do.
 */
import type { Metrics } from '../../metrics/metrics.js';
import type { AttemptReporter } from './verdict.js';

/** The `provider` label: each provider's name (Web Push's provider kind is `web`, its name `webpush`). */
export type PushProviderName = 'apns' | 'fcm' | 'webpush';

/** One app's metrics for one provider, bound to both. */
export interface AppPushMetrics extends AttemptReporter {
  /** A token or subscription the service reported unusable for good. */
  readonly invalidToken: (reason: string) => void;
  readonly credentialsOk: (ok: boolean) => void;
  /** The app left the configuration: its credentials gauge goes instead of keeping its last value. */
  readonly removeCredentialsOk: () => void;
  /**
   * The app left the configuration and none of its requests is in flight any more: its
   * gauges (credentials, in flight) go. Earlier, a request ending would bring the
   * in-flight series back.
   */
  readonly removeGauges: () => void;
}

export function appPushMetrics(metrics: Metrics, provider: PushProviderName, app: string): AppPushMetrics {
  // Label objects are written out whole: spreading a shared one made each inc 3.4 µs instead of 0.3.
  const labels = { provider, app };
  const apns = provider === 'apns';
  // Requests and the in-flight count are summed here and written once a turn (metrics/deferred-writes.ts).
  const requests = new Map<string, { status: string; reason: string; count: number }>();
  let inFlight = 0;
  let inFlightChanged = false;
  // Bound once: an answered request records its latency without naming its labels again.
  const duration = metrics.pushDuration.series(labels);
  const apnsDuration = apns ? metrics.apnsDuration.series({ app }) : undefined;
  const flush = (): void => {
    for (const { status, reason, count } of requests.values()) {
      metrics.pushRequests.inc({ provider, app, status, reason }, count);
      if (apns) metrics.apnsRequests.inc({ app, status, reason }, count);
    }
    requests.clear();
    if (!inFlightChanged) return;
    metrics.pushInFlight.inc(labels, inFlight);
    if (apns) metrics.apnsInFlight.inc({ app }, inFlight);
    inFlight = 0;
    inFlightChanged = false;
  };
  return {
    request: (status, reason, seconds) => {
      const key = `${status} ${reason}`;
      const counted = requests.get(key);
      if (counted) counted.count += 1;
      else requests.set(key, { status, reason, count: 1 });
      metrics.deferred.mark(flush);
      if (seconds === undefined) return;
      duration.observe(seconds);
      apnsDuration?.observe(seconds);
    },
    retry: (reason) => {
      metrics.pushRetries.inc({ provider, app, reason });
      if (apns) metrics.apnsRetries.inc({ app, reason });
    },
    invalidToken: (reason) => {
      metrics.pushInvalidTokens.inc({ provider, app, reason });
      if (apns) metrics.apnsInvalidTokens.inc({ app, reason });
    },
    inFlight: (delta) => {
      inFlight += delta;
      inFlightChanged = true;
      metrics.deferred.mark(flush);
    },
    credentialsOk: (ok) => {
      metrics.pushCredentialsOk.set(labels, ok ? 1 : 0);
      if (apns) metrics.apnsCredentialsOk.set({ app }, ok ? 1 : 0);
    },
    removeCredentialsOk: () => {
      metrics.pushCredentialsOk.remove(labels);
      if (apns) metrics.apnsCredentialsOk.remove({ app });
    },
    removeGauges: () => {
      // What is pending lands first, so no later write brings the series back.
      metrics.deferred.flush();
      metrics.pushCredentialsOk.remove(labels);
      metrics.pushInFlight.remove(labels);
      if (!apns) return;
      metrics.apnsCredentialsOk.remove({ app });
      metrics.apnsInFlight.remove({ app });
    },
  };
}
