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
// Each case: every token delivered, none accepted twice unless Apple's acceptance never
// reached Herald, the process up, /ready true at the end, and the counts printed.

const TOKENS = 2_000;
let credentials: TestCredentials;
before(async () => {
  credentials = await testCredentials();
});

interface FaultReport {
  info: Record<string, unknown>;
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
    const { info } = await fault({ mock, h, tokens });
    const status = await h.finished(`fault-${name}`, 120_000);
    const counts = ledger(mock, tokens);
    const ready = await h.readiness();
    // Acceptances APNs wrote that never reached Herald (into a dead session): only those
    // tokens may go out again, because Herald cannot know they were accepted.
    const unseen = mock.accepted().length - (await h.metric('herald_apns_requests_total', { status: '200' }));
    report(`apns-${name}`, counts, { state: status.state, ready: ready.ready, unseenAcceptances: unseen, ...info });
    assert.equal(h.herald.child.exitCode, null, 'process up');
    assert.deepEqual(ready, { ready: true, failing: [] }, '/ready');
    assert.equal(status.state, 'completed');
    assert.deepEqual({ sent: status.apns.sent, failed: status.apns.failed }, { sent: TOKENS, failed: 0 });
    assert.equal(counts.missing, 0, 'every token delivered');
    assert.ok(unseen >= 0);
    assert.ok(counts.acceptedTwice <= unseen, `${counts.acceptedTwice} tokens accepted twice, but only ${unseen} acceptances never reached Herald`);
  } finally {
    await h.stop();
    await mock.close();
  }
}

describe('fault: APNs', () => {
  it('a session that stalls mid-batch (no answers, no PING acks) is replaced; stalled requests re-sent, doubles only where the 200 never arrived', async () => {
    await withFault('stall', { latencyMs: 5 }, {}, async ({ mock, h }) => {
      await waitFor(() => mock.requests.length >= TOKENS / 4, { timeoutMs: 30_000, what: 'a quarter sent' });
      mock.setOptions({ stallSession: true });
      await waitFor(async () => (await h.metric('herald_apns_sessions_replaced_total')) >= 1, { timeoutMs: 30_000, what: 'the stalled session to be replaced' });
      return { info: { stalledRequests: mock.requests.filter((r) => r.reply === 'stalled').length, sessionsReplaced: await h.metric('herald_apns_sessions_replaced_total') } };
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

  it('a fresh provider token reported expired (a wrong clock): the app is paused, not the token renewed, then resumes and delivers', async () => {
    await withFault('expired-jwt', { auth: 'token' }, {}, async ({ mock, h }) => {
      mock.script({ reply: { status: 403, reason: 'ExpiredProviderToken' }, times: 20 });
      // Apple forbids renewing a token younger than 20 minutes, so Herald keeps it and closes
      // the app's credential gate; the next accepted request opens it again.
      const logged = (msg: string) => h.herald.logs().some((line) => line.msg === msg && line.app === 'fault-app');
      await waitFor(() => logged('apns credentials refused: sending stopped for this app'), { timeoutMs: 30_000, what: 'the refusal to be logged' });
      await waitFor(() => logged('apns credentials accepted again'), { timeoutMs: 90_000, what: 'the credentials to be accepted again' });
      assert.equal(mock.jwtsSeen, 1, 'no renewal inside the 20-minute rule');
      return { info: { answered403: mock.requests.filter((r) => r.status === 403).length, jwtsSeen: mock.jwtsSeen } };
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
    // As in the other cases: on a loaded machine a request may time out after Apple accepted
    // it; only such acceptances, which never reached Herald, may be sent again.
    const unseen = mock.accepted().length - (await h.metric('herald_apns_requests_total', { status: '200' }));
    report('apns-tls-handshake-failures', counts, { state: status.state, handshakesFailed: proxy.handshakesFailed, ready: ready.ready, unseenAcceptances: unseen });
    assert.equal(proxy.handshakesFailed, 3);
    assert.equal(h.herald.child.exitCode, null);
    assert.deepEqual(ready, { ready: true, failing: [] });
    assert.equal(status.state, 'completed');
    assert.equal(counts.missing, 0);
    assert.ok(unseen >= 0);
    assert.ok(counts.acceptedTwice <= unseen, `${counts.acceptedTwice} tokens accepted twice, but only ${unseen} acceptances never reached Herald`);
  } finally {
    await h.stop();
  }
}
