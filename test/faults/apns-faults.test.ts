import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { ApnsMock } from '../fixtures/apns/apns-mock.js';
import { testCredentials } from '../helpers/certs.js';
import type { TestCredentials } from '../helpers/certs.js';
import { waitFor } from '../helpers/wait.js';
import { FaultHarness, deviceToken, ledger, report } from './fault-harness.js';
import type { FaultHarnessOptions } from './fault-harness.js';
import { HandshakeFaultProxy } from './fault-proxy.js';

// APNs misbehaving in the ways Apple's service does: sessions that go silent, GOAWAY
// storms, a window of 503s, TLS handshakes that fail, provider tokens reported expired.
// Each case: every token delivered, none accepted twice, the process up, /ready true
// (none of these is the app's fault), and the counts printed.

const TOKENS = 2_000;
let credentials: TestCredentials;
before(async () => {
  credentials = await testCredentials();
});

interface FaultReport {
  info: Record<string, unknown>;
  /**
   * Tokens APNs accepted in answers Herald could not receive (written into a dead
   * session): the only ones that may be accepted twice, because Herald cannot know.
   */
  unseenAcceptances?: ReadonlySet<string>;
}

interface Case {
  mock: ApnsMock;
  h: FaultHarness;
  tokens: string[];
}

/** Starts a daemon on `mock`, sends TOKENS tokens, runs `fault` once delivery is under way, and checks the outcome. */
async function withFault(
  name: string,
  mockOptions: { auth?: 'certificate' | 'token'; latencyMs?: number; goawayAfterStreams?: number },
  harness: Partial<FaultHarnessOptions>,
  fault: (c: Case) => Promise<FaultReport>,
): Promise<void> {
  const auth = mockOptions.auth ?? 'certificate';
  const goaway = mockOptions.goawayAfterStreams === undefined ? {} : { goawayAfterStreams: mockOptions.goawayAfterStreams };
  const mock = await ApnsMock.start({ credentials, auth, latencyMs: mockOptions.latencyMs ?? 2, ...goaway });
  const h = new FaultHarness({ credentials, mock, auth, ...harness, apns: { pingIntervalMs: 500, requestTimeoutMs: 2_000, ...harness.apns } });
  try {
    await h.start();
    const tokens = Array.from({ length: TOKENS }, deviceToken);
    assert.equal(await h.notify(`fault-${name}`, tokens), 202);
    const { info, unseenAcceptances = new Set<string>() } = await fault({ mock, h, tokens });
    const status = await h.finished(`fault-${name}`, 120_000);
    const counts = ledger(mock, tokens);
    const ready = await h.readiness();
    const doubled = acceptedTwice(mock, tokens);
    report(`apns-${name}`, counts, { state: status.state, ready: ready.ready, unseenAcceptances: unseenAcceptances.size, ...info });
    assert.equal(h.herald.child.exitCode, null, 'process up');
    assert.deepEqual(ready, { ready: true, failing: [] }, '/ready');
    assert.equal(status.state, 'completed');
    assert.deepEqual({ sent: status.apns.sent, failed: status.apns.failed }, { sent: TOKENS, failed: 0 });
    assert.equal(counts.missing, 0, 'every token delivered');
    assert.deepEqual(doubled.filter((token) => !unseenAcceptances.has(token)), [], 'no token accepted twice whose acceptance Herald received');
  } finally {
    await h.stop();
    await mock.close();
  }
}

function acceptedTwice(mock: ApnsMock, tokens: readonly string[]): string[] {
  const wanted = new Set(tokens);
  const count = new Map<string, number>();
  for (const r of mock.accepted()) if (wanted.has(r.token)) count.set(r.token, (count.get(r.token) ?? 0) + 1);
  return [...count].filter(([, n]) => n > 1).map(([token]) => token);
}

describe('fault: APNs', () => {
  it('a session that stalls mid-batch (no answers, no PING acks) is replaced; stalled requests are re-sent, never doubled', async () => {
    await withFault('stall', { latencyMs: 5 }, {}, async ({ mock, h }) => {
      await waitFor(() => mock.requests.length >= TOKENS / 4, { timeoutMs: 30_000, what: 'a quarter sent' });
      const stalledAt = Date.now();
      mock.setOptions({ stallSession: true });
      await waitFor(async () => (await h.metric('herald_apns_sessions_replaced_total')) >= 1, { timeoutMs: 30_000, what: 'the stalled session to be replaced' });
      const stalledSessions = new Set(mock.requests.filter((r) => r.reply === 'stalled').map((r) => r.sessionId));
      const unseen = mock.requests.filter((r) => r.status === 200 && stalledSessions.has(r.sessionId) && (r.answeredAt ?? 0) >= stalledAt);
      return {
        info: { stalledRequests: mock.requests.filter((r) => r.reply === 'stalled').length, sessionsReplaced: await h.metric('herald_apns_sessions_replaced_total') },
        unseenAcceptances: new Set(unseen.map((r) => r.token)),
      };
    });
  });

  it('a GOAWAY storm (every session sent away after 40 streams): refused streams re-sent on new sessions', async () => {
    await withFault('goaway-storm', { goawayAfterStreams: 40 }, {}, async ({ mock }) => {
      await waitFor(() => mock.goaways.length >= 10, { timeoutMs: 30_000, what: '10 GOAWAYs' });
      return { info: { goaways: mock.goaways.length, refusedStreams: mock.requests.filter((r) => r.reply === 'goaway-refused').length, sessionsOpened: mock.sessionsOpened } };
    });
  });

  it('a window of 503 ServiceUnavailable: retried with backoff until Apple recovers', async () => {
    await withFault('503-window', {}, {}, async ({ mock }) => {
      mock.script({ reply: { status: 503, reason: 'ServiceUnavailable' } });
      await waitFor(() => mock.requests.filter((r) => r.status === 503).length >= 300, { timeoutMs: 30_000, what: '300 answers of 503' });
      mock.clearRules();
      return { info: { answered503: mock.requests.filter((r) => r.status === 503).length } };
    });
  });

  it('TLS handshakes that fail (a server Herald does not trust) for the first connections: retried until one succeeds', async () => {
    // The proxy sits between Herald and the mock, so this case assembles its own pieces.
    const mock = await ApnsMock.start({ credentials, auth: 'certificate' });
    const proxy = await HandshakeFaultProxy.start(credentials, mock.port, 3);
    try {
      await withFaultOn(mock, proxy);
    } finally {
      await proxy.close();
      await mock.close();
    }
  });

  it('a fresh provider token reported expired (a wrong clock): /ready names apns while Apple refuses, then recovers and delivers', async () => {
    await withFault('expired-jwt', { auth: 'token' }, {}, async ({ mock, h }) => {
      mock.script({ reply: { status: 403, reason: 'ExpiredProviderToken' }, times: 20 });
      // Apple forbids renewing a token younger than 20 minutes, so Herald does not: it
      // stops sending for the app and says so on /ready until a probe is accepted.
      const refused = await waitFor(async () => {
        const r = await h.readiness();
        return r.ready ? undefined : r;
      }, { timeoutMs: 30_000, what: '/ready to report the refused credentials' });
      assert.deepEqual(refused.failing, ['apns']);
      return { info: { answered403: mock.requests.filter((r) => r.status === 403).length, jwtsSeen: mock.jwtsSeen, notReady: refused.failing } };
    });
  });
});

async function withFaultOn(mock: ApnsMock, proxy: HandshakeFaultProxy): Promise<void> {
  const h = new FaultHarness({ credentials, mock, endpointPort: proxy.port, apns: { pingIntervalMs: 500, requestTimeoutMs: 2_000 } });
  try {
    await h.start();
    const tokens = Array.from({ length: TOKENS }, deviceToken);
    assert.equal(await h.notify('fault-tls', tokens), 202);
    const status = await h.finished('fault-tls', 120_000);
    const counts = ledger(mock, tokens);
    const ready = await h.readiness();
    report('apns-tls-handshake-failures', counts, { state: status.state, handshakesFailed: proxy.handshakesFailed, ready: ready.ready });
    assert.equal(proxy.handshakesFailed, 3);
    assert.equal(h.herald.child.exitCode, null);
    assert.deepEqual(ready, { ready: true, failing: [] });
    assert.equal(status.state, 'completed');
    assert.equal(counts.missing, 0);
    assert.equal(counts.acceptedTwice, 0);
  } finally {
    await h.stop();
  }
}
