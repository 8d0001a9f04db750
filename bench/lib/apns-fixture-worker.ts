/**
 * The APNs fixture (test/fixtures/apns) in its own process, certificate auth, driven
 * over IPC: the senders under test share the machine with it, never an event loop.
 * Each request's payload carries `t`, the epoch ms its notification was handed to the
 * sender; the fixture reports answeredAt − t for every accepted request.
 */
import { ApnsMock } from '../../test/fixtures/apns/apns-mock.js';
import { testCredentials } from '../../test/helpers/certs.js';
import { serveIpc } from './ipc.js';

export interface FixtureInfo {
  readonly port: number;
  readonly ca: string;
  readonly caPath: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly topic: string;
}

export interface FixtureCounters {
  readonly accepted: number;
  readonly refused: number;
  /** Epoch ms of the last answer written. */
  readonly lastAnsweredAt: number;
}

export interface FixtureSample extends FixtureCounters {
  /** answeredAt − t of each accepted request, ms. */
  readonly latencies: Float64Array;
  /** Requests per token beyond the first (a sender that re-sent something it had delivered). */
  readonly duplicates: number;
  /** Streams open at the fixture, sampled every few ms while any was: how full the sender kept its window. */
  readonly meanInFlight: number;
  readonly peakInFlight: number;
}

/** The fixture's count of open streams (it exposes only the peak since start). */
const openStreams = (m: ApnsMock): number => (m as unknown as { inFlight: number }).inFlight;
const window = { samples: 0, sum: 0, peak: 0 };
setInterval(() => {
  if (!mock) return;
  const open = openStreams(mock);
  if (open === 0) return;
  window.samples += 1;
  window.sum += open;
  window.peak = Math.max(window.peak, open);
}, 2).unref();

let mock: ApnsMock | undefined;
/** Requests already counted by `counters`, so a poll looks at new ones only. */
let scanned = 0;
let accepted = 0;
let refused = 0;
let lastAnsweredAt = 0;

function scan(m: ApnsMock): void {
  // A request stays 'stalled' until its (delayed) answer is written: stop at the first unanswered one.
  for (; scanned < m.requests.length; scanned += 1) {
    const request = m.requests[scanned];
    if (!request || request.answeredAt === undefined) break;
    if (request.status === 200) accepted += 1;
    else refused += 1;
    lastAnsweredAt = Math.max(lastAnsweredAt, request.answeredAt);
  }
}

function fixture(): ApnsMock {
  if (!mock) throw new Error('fixture not started');
  return mock;
}

serveIpc({
  start: async (params: { latencyMs: number; maxConcurrentStreams: number }): Promise<FixtureInfo> => {
    const credentials = await testCredentials();
    mock = await ApnsMock.start({ credentials, auth: 'certificate', latencyMs: params.latencyMs, maxConcurrentStreams: params.maxConcurrentStreams });
    return { port: mock.port, ca: credentials.caCert, caPath: credentials.caCertPath, certPath: credentials.clientCertPath, keyPath: credentials.clientKeyPath, topic: credentials.bundleId };
  },
  setLatency: (params: { latencyMs: number }): void => fixture().setOptions({ latencyMs: params.latencyMs }),
  counters: (): FixtureCounters => {
    scan(fixture());
    return { accepted, refused, lastAnsweredAt };
  },
  /** Everything recorded since the last sample, then a fresh start. */
  sample: (): FixtureSample => {
    const m = fixture();
    scan(m);
    const latencies = new Float64Array(accepted);
    const seen = new Set<string>();
    let duplicates = 0;
    let n = 0;
    for (const request of m.requests) {
      if (request.status !== 200 || request.answeredAt === undefined) continue;
      const t = (request.payload as { t?: unknown } | undefined)?.t;
      latencies[n++] = typeof t === 'number' ? request.answeredAt - t : Number.NaN;
      if (seen.has(request.token)) duplicates += 1;
      else seen.add(request.token);
    }
    const result = {
      accepted,
      refused,
      lastAnsweredAt,
      latencies: latencies.subarray(0, n),
      duplicates,
      meanInFlight: window.samples === 0 ? 0 : window.sum / window.samples,
      peakInFlight: window.peak,
    };
    Object.assign(window, { samples: 0, sum: 0, peak: 0 });
    m.requests.length = 0;
    scanned = 0;
    accepted = 0;
    refused = 0;
    lastAnsweredAt = 0;
    return result;
  },
  stop: async (): Promise<void> => {
    await mock?.close();
  },
});
