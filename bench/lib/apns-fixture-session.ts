/**
 * What the raw client and the bare gateway share to reach the APNs fixture: a node:http2
 * session with the bench app's client certificate, resolved once the fixture's settings
 * arrived (so the first request is not measured waiting for the handshake), and the
 * headers of one alert.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:http2';
import type { ClientHttp2Session, OutgoingHttpHeaders } from 'node:http2';
import type { FixtureInfo } from './apns-fixture-worker.js';

/** The headers of one alert to `token`, as the raw client and the bare gateway send it: Apple's required ones only. */
export function alertHeaders(topic: string, token: string): OutgoingHttpHeaders {
  return { ':method': 'POST', ':path': `/3/device/${token}`, 'apns-push-type': 'alert', 'apns-topic': topic, 'apns-priority': '10' };
}

export function openFixtureSession(fixture: FixtureInfo): Promise<ClientHttp2Session> {
  const session = connect(`https://127.0.0.1:${fixture.port}`, {
    ca: fixture.ca,
    cert: readFileSync(fixture.certPath),
    key: readFileSync(fixture.keyPath),
    servername: 'localhost',
  });
  return new Promise((resolve, reject) => {
    session.once('error', reject);
    session.once('remoteSettings', () => {
      session.off('error', reject);
      session.on('error', () => {});
      resolve(session);
    });
  });
}
