/**
 * The Web Push mock (test/fixtures/webpush) in its own process, driven over IPC: it
 * verifies VAPID and decrypts every message, and that CPU is kept out of the sender's.
 */
import { WebPushMock } from '../../test/fixtures/webpush/webpush-mock.js';
import type { MockSubscription } from '../../test/fixtures/webpush/webpush-mock.js';
import { testCredentials } from '../../test/helpers/certs.js';
import { serveIpc } from './ipc.js';

let mock: WebPushMock | undefined;

serveIpc({
  start: async (): Promise<{ origin: string; ca: string }> => {
    const creds = await testCredentials();
    mock = await WebPushMock.start({ cert: creds.serverCert, key: creds.serverKey });
    return { origin: mock.origin, ca: creds.caCert };
  },
  subscribe: (params: { count: number; applicationServerKey: string }): Array<MockSubscription['json']> =>
    Array.from({ length: params.count }, () => (mock as WebPushMock).subscribe({ applicationServerKey: params.applicationServerKey }).json),
  counts: () => ({ received: mock?.received.length ?? 0, refused: mock?.refused.length ?? 0, undecryptable: mock?.undecryptable.length ?? 0, connections: mock?.connections ?? 0, peak: mock?.inFlightPeak ?? 0 }),
  reset: () => {
    if (!mock) return;
    mock.received.length = 0;
    mock.refused.length = 0;
    mock.inFlightPeak = 0;
  },
});
