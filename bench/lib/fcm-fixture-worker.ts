/**
 * The FCM fixture (test/fixtures/fcm) in its own process, driven over IPC: the senders
 * under test share the machine with it, never an event loop. It makes a service account
 * whose token_uri points at itself.
 */
import { FcmMock } from '../../test/fixtures/fcm/fcm-mock.js';
import { makeServiceAccount } from '../../test/fixtures/fcm/service-account-fixture.js';
import { testCredentials } from '../../test/helpers/certs.js';
import { serveIpc } from './ipc.js';

export interface FcmFixtureInfo {
  readonly port: number;
  readonly ca: string;
  readonly caPath: string;
  /** The service account's key file, as Google issues it. */
  readonly accountJson: string;
  readonly projectId: string;
}

export interface FcmFixtureCounters {
  readonly delivered: number;
  readonly refused: number;
  readonly peakInFlight: number;
}

let mock: FcmMock | undefined;
let peak = 0;
setInterval(() => {
  if (mock) peak = Math.max(peak, mock.openStreams);
}, 2).unref();

serveIpc({
  start: async (params: { latencyMs: number; maxConcurrentStreams: number }): Promise<FcmFixtureInfo> => {
    const credentials = await testCredentials();
    mock = await FcmMock.start({ credentials, latencyMs: params.latencyMs, maxConcurrentStreams: params.maxConcurrentStreams });
    const account = makeServiceAccount(mock.tokenUri, { projectId: 'herald-bench' });
    mock.addAccount({ clientEmail: account.clientEmail, projectId: account.projectId, publicKey: account.publicKey });
    return { port: mock.port, ca: credentials.caCert, caPath: credentials.caCertPath, accountJson: account.json, projectId: account.projectId };
  },
  setLatency: (params: { latencyMs: number }): void => mock?.setLatency(params.latencyMs),
  /** Counts since the last call, then a fresh start. */
  take: (): FcmFixtureCounters => {
    if (!mock) throw new Error('fixture not started');
    const delivered = mock.delivered().length;
    const result = { delivered, refused: mock.sends.length - delivered, peakInFlight: peak };
    mock.sends.length = 0;
    peak = 0;
    return result;
  },
  stop: async (): Promise<void> => {
    await mock?.close();
  },
});
