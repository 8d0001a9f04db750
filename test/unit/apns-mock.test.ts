import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, randomUUID, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import type { ClientHttp2Session } from 'node:http2';
import { testCredentials } from '../helpers/certs.js';
import type { TestCredentials } from '../helpers/certs.js';
import { waitFor } from '../helpers/wait.js';
import { ApnsMock } from '../fixtures/apns/apns-mock.js';
import type { ApnsMockOptions } from '../fixtures/apns/apns-mock.js';
import { validationCases } from '../fixtures/apns/apns-validation-cases.js';
import { alertHeaders, deliverAll, deviceToken, openSession, ping, post, providerToken } from '../fixtures/apns/apns-raw-client.js';

let creds: TestCredentials;
const mocks: ApnsMock[] = [];
const sessions: ClientHttp2Session[] = [];

before(async () => {
  creds = await testCredentials();
});
after(async () => {
  for (const session of sessions) session.destroy();
  await Promise.all(mocks.map((mock) => mock.close()));
});

async function startMock(options: Partial<ApnsMockOptions> = {}): Promise<ApnsMock> {
  const mock = await ApnsMock.start({ credentials: creds, auth: 'certificate', ...options });
  mocks.push(mock);
  return mock;
}
async function certSession(mock: ApnsMock, certPath = creds.clientCertPath, keyPath = creds.clientKeyPath): Promise<ClientHttp2Session> {
  const session = await openSession(mock.port, { ca: creds.caCert, certPath, keyPath });
  sessions.push(session);
  return session;
}
const device = (token = deviceToken()): string => `/3/device/${token}`;
const reasonOf = (body: string): unknown => (JSON.parse(body) as { reason?: unknown }).reason;

describe('certificate mode', () => {
  it('accepts the client certificate, echoes apns-id and announces its stream limit', async () => {
    const mock = await startMock({ maxConcurrentStreams: 7 });
    const session = await certSession(mock);
    assert.equal(session.remoteSettings.maxConcurrentStreams, 7);
    const apnsId = randomUUID();
    const token = deviceToken();
    const response = await post(session, device(token), { ...alertHeaders(), 'apns-id': apnsId }, '{"aps":{"alert":"hi"},"k":1}');
    assert.equal(response.status, 200);
    assert.equal(response.headers['apns-id'], apnsId);
    assert.equal(response.body, '');
    const [recorded] = mock.requests;
    assert.deepEqual({ token: recorded?.token, payload: recorded?.payload, topic: recorded?.headers['apns-topic'], reply: recorded?.reply, apnsId: recorded?.apnsId },
      { token, payload: { aps: { alert: 'hi' }, k: 1 }, topic: 'com.example.app', reply: 'answered', apnsId });
    const generated = await post(session, device(), alertHeaders());
    assert.match(generated.headers['apns-id'] ?? '', /^[0-9a-f-]{36}$/);
  });

  it('connects with the PKCS#12 bundle', async () => {
    const mock = await startMock();
    const session = await openSession(mock.port, { ca: creds.caCert, pfxPath: creds.pfxPath, passphrase: creds.passphrase });
    sessions.push(session);
    assert.equal((await post(session, device(), alertHeaders())).status, 200);
  });

  it('refuses at the TLS handshake a certificate from another CA, an expired one, and none', async () => {
    const mock = await startMock();
    await assert.rejects(certSession(mock, creds.otherCaClientCertPath, creds.otherCaClientKeyPath));
    await assert.rejects(certSession(mock, creds.expiredClientCertPath, creds.expiredClientKeyPath));
    const noCertificate = await new Promise<string>((resolve) => {
      const socket = tlsConnect({ port: mock.port, host: '127.0.0.1', ca: creds.caCert, servername: 'localhost', ALPNProtocols: ['h2'] });
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(String(error.code)));
      socket.on('close', () => resolve('closed without an alert'));
    });
    assert.equal(noCertificate, 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
    await waitFor(() => mock.tlsFailures.length === 3, { what: 'three refused handshakes' });
    assert.deepEqual([...mock.tlsFailures].sort(), ['CERT_HAS_EXPIRED', 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE']);
    assert.equal(mock.sessionsOpened, 0);
    assert.equal(mock.requests.length, 0);
  });

  it('refuses a topic the certificate does not carry', async () => {
    const mock = await startMock();
    const response = await post(await certSession(mock), device(), alertHeaders('com.example.other'));
    assert.deepEqual([response.status, reasonOf(response.body)], [400, 'TopicDisallowed']);
  });

  for (const c of validationCases) {
    it(`validates like Apple: ${c.name} → ${c.status} ${c.reason ?? ''}`, async () => {
      const mock = await startMock();
      const session = await certSession(mock);
      const response = await post(session, c.path ?? '', { ':method': c.method, ...c.headers }, c.body);
      assert.equal(response.status, c.status);
      assert.equal(response.body === '' ? undefined : reasonOf(response.body), c.reason);
      assert.equal(mock.requests.length, 1, 'recorded even when refused');
      assert.equal(mock.requests[0]?.status, c.status);
    });
  }
});

describe('token mode', () => {
  const jwt = (iat?: number, keyPath = creds.p8Path, keyId = creds.keyId, teamId = creds.teamId): string => providerToken(keyPath, keyId, teamId, iat);
  const send = (session: ClientHttp2Session, authorization?: string) =>
    post(session, device(), { ...alertHeaders('com.example.anything'), ...(authorization ? { authorization } : {}) });

  it('needs no client certificate, accepts a fresh ES256 token and announces its stream limit', async () => {
    const mock = await startMock({ auth: 'token', maxConcurrentStreams: 3 });
    const session = await openSession(mock.port, { ca: creds.caCert });
    sessions.push(session);
    assert.equal(session.remoteSettings.maxConcurrentStreams, 3);
    const token = jwt();
    for (let i = 0; i < 3; i += 1) assert.equal((await send(session, `bearer ${token}`)).status, 200);
    assert.equal(mock.jwtsSeen, 1);
    assert.equal(mock.accepted().length, 3);
  });

  it('refuses missing, expired, unknown-key, wrong-kid, wrong-team and DER-signed tokens', async () => {
    const mock = await startMock({ auth: 'token' });
    const session = await openSession(mock.port, { ca: creds.caCert });
    sessions.push(session);
    const twoHoursAgo = Math.floor(Date.now() / 1000) - 7200;
    const [header = '', claims = ''] = jwt().split('.');
    const derSignature = sign('sha256', Buffer.from(`${header}.${claims}`), createPrivateKey(readFileSync(creds.p8Path))).toString('base64url');
    const cases: [string | undefined, string][] = [
      [undefined, 'MissingProviderToken'],
      [`bearer ${jwt(twoHoursAgo)}`, 'ExpiredProviderToken'],
      [`bearer ${jwt(undefined, creds.otherP8Path)}`, 'InvalidProviderToken'],
      [`bearer ${jwt(undefined, creds.p8Path, 'ZZZ999ZZZZ')}`, 'InvalidProviderToken'],
      [`bearer ${jwt(undefined, creds.p8Path, creds.keyId, 'OTHERTEAM1')}`, 'InvalidProviderToken'],
      [`bearer ${header}.${claims}.${derSignature}`, 'InvalidProviderToken'],
      ['bearer not-a-jwt', 'InvalidProviderToken'],
    ];
    for (const [authorization, reason] of cases) {
      const response = await send(session, authorization);
      assert.deepEqual([response.status, reasonOf(response.body)], [403, reason], `authorization ${authorization ?? '(none)'}`);
    }
    assert.equal(mock.accepted().length, 0);
    assert.equal(mock.jwtsSeen, cases.length - 1);
  });
});

describe('scripted replies', () => {
  it('answers 410 with a timestamp, 429 and 503 with retry-after, 500, then falls through to 200', async () => {
    const mock = await startMock();
    const session = await certSession(mock);
    const dead = deviceToken();
    mock.script({ token: dead, reply: { status: 410, reason: 'Unregistered', timestamp: 1_700_000_000_000 } });
    mock.script({ times: 2, reply: { status: 429, reason: 'TooManyRequests', retryAfterSeconds: 2 } });
    mock.script({ times: 1, reply: { status: 503, reason: 'ServiceUnavailable', retryAfterSeconds: 5 } });
    mock.script({ times: 1, reply: { status: 500, reason: 'InternalServerError' } });
    const gone = await post(session, device(dead), alertHeaders());
    assert.deepEqual([gone.status, JSON.parse(gone.body)], [410, { reason: 'Unregistered', timestamp: 1_700_000_000_000 }]);
    const answers = [];
    for (let i = 0; i < 5; i += 1) answers.push(await post(session, device(), alertHeaders()));
    assert.deepEqual(answers.map((a) => [a.status, a.headers['retry-after'], a.body === '' ? undefined : reasonOf(a.body)]), [
      [429, '2', 'TooManyRequests'], [429, '2', 'TooManyRequests'], [503, '5', 'ServiceUnavailable'], [500, undefined, 'InternalServerError'], [200, undefined, undefined],
    ]);
    assert.equal((await post(session, device(dead), alertHeaders())).status, 410, 'a rule without times applies forever');
    mock.clearRules();
    assert.equal((await post(session, device(dead), alertHeaders())).status, 200);
    const expired = await startMock();
    expired.script({ reply: { status: 410, reason: 'ExpiredToken' } });
    const before = Date.now();
    const body = JSON.parse((await post(await certSession(expired), device(), alertHeaders())).body) as { timestamp: number };
    assert.ok(body.timestamp >= before, 'a 410 without a scripted timestamp carries the current time');
  });
});

describe('connection behaviour', () => {
  it('GOAWAY after N streams names the Nth stream; streams above it are never processed', async () => {
    const mock = await startMock({ goawayAfterStreams: 3 });
    const session = await certSession(mock);
    const goaway = new Promise<number>((resolve) => session.once('goaway', (_code, lastStreamId) => resolve(lastStreamId)));
    const tokens = Array.from({ length: 6 }, () => deviceToken());
    const results = await Promise.allSettled(tokens.map((token) => post(session, device(token), alertHeaders())));
    assert.equal(await goaway, 5);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected', 'rejected']);
    assert.deepEqual(mock.accepted().map((r) => r.streamId), [1, 3, 5]);
    for (const r of mock.requests.filter((q) => q.streamId > 5)) assert.equal(r.reply, 'goaway-refused');
    // A client that re-sends exactly the refused ones on a new session delivers each token once.
    const fresh = await certSession(mock);
    await Promise.all(tokens.slice(3).map((token) => post(fresh, device(token), alertHeaders())));
    assert.deepEqual(mock.accepted().map((r) => r.token).sort(), [...tokens].sort());
    await waitFor(() => session.closed || session.destroyed, { what: 'the GOAWAY session to close' });
  });

  it('GOAWAY every 50 streams under 1,000 concurrent requests: re-sending the refused ones delivers each token once', async () => {
    const mock = await startMock({ goawayAfterStreams: 50 });
    const tokens = Array.from({ length: 1000 }, () => deviceToken());
    const { resent, sessions: used } = await deliverAll(mock.port, { ca: creds.caCert, certPath: creds.clientCertPath, keyPath: creds.clientKeyPath }, tokens.map((t) => device(t)), alertHeaders(), 200);
    sessions.push(...used);
    assert.deepEqual(mock.accepted().map((r) => r.token).sort(), [...tokens].sort());
    const refused = mock.requests.filter((r) => r.reply === 'goaway-refused').length;
    assert.ok(resent >= refused && refused > 0 && mock.goaways.length >= 19, `${resent} re-sent, ${refused} refused, ${mock.goaways.length} GOAWAYs`);
    const lastOf = new Map(mock.goaways.map((g) => [g.sessionId, g.lastStreamId]));
    for (const r of mock.requests) {
      const last = lastOf.get(r.sessionId) ?? Infinity;
      assert.equal(r.reply, r.streamId > last ? 'goaway-refused' : 'answered', `session ${r.sessionId} stream ${r.streamId} (GOAWAY last ${last})`);
    }
  });

  it('a goaway rule refuses its own stream and names the previous one', async () => {
    const mock = await startMock();
    const session = await certSession(mock);
    await post(session, device(), alertHeaders());
    mock.script({ times: 1, reply: { goaway: true } });
    const goaway = new Promise<number>((resolve) => session.once('goaway', (_code, lastStreamId) => resolve(lastStreamId)));
    await assert.rejects(post(session, device(), alertHeaders()));
    assert.equal(await goaway, 1);
    assert.deepEqual(mock.requests.map((r) => r.reply), ['answered', 'goaway-refused']);
  });

  it('a stalled session answers neither requests nor PINGs; the next session is normal', async () => {
    const mock = await startMock({ latencyMs: 60_000 });
    const session = await certSession(mock);
    assert.ok((await ping(session, 5000)) >= 0);
    const pending = post(session, device(), alertHeaders()).then(() => 'answered', () => 'failed');
    await waitFor(() => mock.requests.length === 1, { what: 'the request to arrive' });
    mock.setOptions({ stallSession: true, latencyMs: 0 });
    await assert.rejects(ping(session, 1000), /no PING ack/);
    assert.equal(mock.requests[0]?.reply, 'stalled');
    const next = await certSession(mock);
    assert.equal((await post(next, device(), alertHeaders())).status, 200);
    assert.ok((await ping(next, 5000)) >= 0);
    await mock.close();
    assert.equal(await pending, 'failed', 'close() ends a stalled session too');
    assert.equal(mock.openSessions, 0);
  });

  it('stallSession with no session open stalls the next one only, PINGs included', async () => {
    const mock = await startMock({ stallSession: true });
    const stalled = await certSession(mock);
    await assert.rejects(ping(stalled, 1000), /no PING ack/);
    await assert.rejects(ping(stalled, 1000), /no PING ack/, 'still dead later');
    const normal = await certSession(mock);
    assert.equal((await post(normal, device(), alertHeaders())).status, 200);
    assert.equal(mock.sessionsOpened, 2);
  });

  it('a stall rule leaves its stream open while the session keeps answering', async () => {
    const mock = await startMock();
    const session = await certSession(mock);
    const stuck = deviceToken();
    mock.script({ token: stuck, reply: { stall: true } });
    let settled = false;
    void post(session, device(stuck), alertHeaders()).finally(() => { settled = true; }).catch(() => {});
    assert.equal((await post(session, device(), alertHeaders())).status, 200);
    assert.ok((await ping(session, 5000)) >= 0);
    assert.equal(settled, false);
    assert.deepEqual(mock.requests.map((r) => r.reply).sort(), ['answered', 'stalled']);
  });

  it('enforces and re-announces the stream limit; maxInFlight counts open streams across sessions', async () => {
    const mock = await startMock({ maxConcurrentStreams: 3 });
    mock.script({ times: 5, reply: { stall: true } });
    const first = await certSession(mock);
    const second = await certSession(mock);
    const replies = [first, first, first, first, second, second].map((s) => post(s, device(), alertHeaders()).then((r) => r.status, () => 'reset'));
    await waitFor(() => mock.requests.length === 5, { what: '3 + 2 streams to open' });
    assert.equal(mock.maxInFlight, 5);
    const announced = new Promise<number | undefined>((resolve) => first.once('remoteSettings', (settings) => resolve(settings.maxConcurrentStreams)));
    mock.setOptions({ maxConcurrentStreams: 4 });
    assert.equal(await announced, 4);
    // The held-back fourth stream of the first session goes out only now, and the stall rule is used up.
    assert.equal(await replies[3], 200);
    assert.equal(mock.maxInFlight, 6);
    await mock.close();
    assert.equal(mock.openSessions, 0);
    assert.deepEqual(await Promise.all(replies), ['reset', 'reset', 'reset', 200, 'reset', 'reset']);
  });
});
