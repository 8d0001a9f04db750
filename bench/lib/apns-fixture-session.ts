/**
 * A node:http2 session to the APNs fixture with the bench app's client certificate, as
 * the raw client and the bare gateway open it: resolved once the fixture's settings
 * arrived, so the first request is not measured waiting for the handshake.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:http2';
import type { ClientHttp2Session } from 'node:http2';
import type { FixtureInfo } from './apns-fixture-worker.js';

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
