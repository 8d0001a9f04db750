import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Pusher from 'pusher';
import { signedRequest } from '../../src/client/signed-request.js';
import type { DeadLetterView } from '../../src/webhooks/dead-letter-view.js';
import { freePort } from '../helpers/free-port.js';
import { runCli, startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { connected, metricValue, pusherClient, subscribe } from '../helpers/pusher-clients.js';
import type { PusherClient } from '../helpers/pusher-clients.js';
import { waitFor } from '../helpers/wait.js';
import { acceptedEvents, startWebhookReceiver } from './webhooks-receiver.js';
import type { WebhookReceiver } from './webhooks-receiver.js';

const occupancyApp = { id: 'app-occupancy', key: 'key-occupancy', secret: 'secret-occupancy-1' };
const flakyApp = { id: 'app-flaky', key: 'key-flaky', secret: 'secret-flaky-0001' };
const credentialsApp = { id: 'app-creds', key: 'key-creds', secret: 'secret-creds-0001' };

/** A receiver URL carrying a password and a query secret, as some webhook services want. */
function withCredentials(url: string): string {
  const parsed = new URL(url);
  parsed.username = 'hookuser';
  parsed.password = 'hook-password-1';
  parsed.search = '?token=query-secret-1';
  return parsed.toString();
}

describe('webhooks through the daemon (embedded mode)', () => {
  let herald: HeraldProcess;
  let occupancy: WebhookReceiver;
  let flaky: WebhookReceiver;
  const clients: PusherClient[] = [];

  before(async () => {
    occupancy = await startWebhookReceiver();
    flaky = await startWebhookReceiver();
    flaky.setMode({ type: 'status', status: 502 });
    herald = await startHeraldProcess({
      config: {
        webhooks: { batchMs: 20, maxAttempts: 2, backoffBaseMs: 10, backoffMaxMs: 20, timeoutMs: 2000, occupancyWindowMs: 0 },
        apps: [
          { ...occupancyApp, webhooks: [{ url: occupancy.url, events: ['channel_occupied', 'channel_vacated'] }] },
          { ...flakyApp, webhooks: [{ url: flaky.url, events: ['channel_occupied'] }] },
          { ...credentialsApp, webhooks: [{ url: withCredentials(flaky.url), events: ['channel_occupied'] }] },
        ],
      },
    });
  });

  after(async () => {
    for (const client of clients) client.disconnect();
    await herald?.stop();
    await occupancy?.close();
    await flaky?.close();
  });

  function client(app: typeof occupancyApp): PusherClient {
    const c = pusherClient(herald.httpPort, app);
    clients.push(c);
    return c;
  }

  it('sends channel_occupied once when pusher-js clients subscribe, and channel_vacated when the last leaves', async () => {
    const first = client(occupancyApp);
    const second = client(occupancyApp);
    await Promise.all([connected(first), connected(second)]);
    await subscribe(first, 'orders');
    await waitFor(() => acceptedEvents(occupancy).length >= 1, { what: 'channel_occupied' });
    await subscribe(second, 'orders');
    first.unsubscribe('orders');
    second.unsubscribe('orders');
    await waitFor(() => acceptedEvents(occupancy).some((e) => e.name === 'channel_vacated'), { what: 'channel_vacated' });
    assert.deepEqual(acceptedEvents(occupancy), [
      { name: 'channel_occupied', channel: 'orders' },
      { name: 'channel_vacated', channel: 'orders' },
    ]);
    const sdk = new Pusher({ appId: occupancyApp.id, key: occupancyApp.key, secret: occupancyApp.secret, host: '127.0.0.1' });
    for (const record of occupancy.accepted()) {
      assert.equal(sdk.webhook({ headers: record.headers as Record<string, string>, rawBody: record.rawBody }).isValid(), true);
    }
    // Both batches went through the webhook queue, which the metrics show at each scrape.
    await waitFor(async () => (await metricValue(herald.metricsPort, 'herald_queue_jobs', { queue: 'webhooks', state: 'completed' })) >= 2, {
      what: 'webhook queue jobs in the metrics',
    });
  });

  it('keeps an undeliverable batch in the dead-letter list, which the CLI lists and replays over HTTP', async () => {
    const c = client(flakyApp);
    await connected(c);
    await subscribe(c, 'news');
    const list = async (): Promise<{ count: number; deadLetters: DeadLetterView[] }> => {
      const res = await signedRequest(herald.baseUrl, { app: flakyApp.id, key: flakyApp.key, secret: flakyApp.secret }, 'GET', '/webhooks/dead-letters');
      assert.equal(res.status, 200);
      return res.body as { count: number; deadLetters: DeadLetterView[] };
    };
    const listed = await waitFor(async () => ((await list()).count === 1 ? list() : undefined), { what: 'a dead letter' });
    const [entry] = listed.deadLetters;
    assert.ok(entry);
    // The path may hold a token (as in Slack-style hook URLs): shown like the printed config, masked.
    assert.equal(entry.url, `${new URL(flaky.url).origin}/[redacted]`);
    assert.equal(entry.attempts, 2);
    assert.equal(entry.lastError, 'HTTP 502');
    assert.equal(flaky.received.length, 2);
    // The entry is listed as soon as it is stored; the metrics follow.
    await waitFor(async () => (await metricValue(herald.metricsPort, 'herald_webhook_dead_letters')) === 1, { what: 'the gauge' });
    await waitFor(
      async () => (await metricValue(herald.metricsPort, 'herald_webhook_deliveries_total', { app: flakyApp.id, status: 'dead' })) === 1,
      { what: 'the dead count' },
    );
    // The other app sees none of it.
    const other = await signedRequest(herald.baseUrl, { app: occupancyApp.id, key: occupancyApp.key, secret: occupancyApp.secret }, 'GET', '/webhooks/dead-letters');
    assert.equal((other.body as { count: number }).count, 0);

    const credentials = ['--app', flakyApp.id, '--url', herald.baseUrl, '--key', flakyApp.key, '--secret', flakyApp.secret];
    const shown = await runCli(['webhooks', 'dead-letters', ...credentials]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`app ${flakyApp.id}: 1 dead letter`));
    assert.match(shown.stdout, new RegExp(`${entry.id}  failed .* after 2 attempt\\(s\\): HTTP 502`));
    assert.doesNotMatch(shown.stdout, /[0-9a-f]{64}/, 'never prints the signature');

    flaky.setMode({ type: 'ok' });
    const replayed = await runCli(['webhooks', 'dead-letters', '--replay', ...credentials]);
    assert.equal(replayed.code, 0, replayed.stderr);
    assert.match(replayed.stdout, new RegExp(`app ${flakyApp.id}: replayed 1 dead letter\\(s\\): ${entry.id}`));
    const delivered = await waitFor(() => flaky.accepted()[0], { what: 'the replayed batch' });
    assert.equal(delivered.rawBody, entry.body);
    assert.equal((await list()).count, 0);
    await waitFor(async () => (await metricValue(herald.metricsPort, 'herald_webhook_dead_letters')) === 0, { what: 'the gauge to drop' });
  });

  it('never shows a webhook URL\'s password or query secret in the dead-letter API or CLI', async () => {
    flaky.setMode({ type: 'status', status: 502 });
    const c = client(credentialsApp);
    await connected(c);
    await subscribe(c, 'secret-news');
    const signer = { app: credentialsApp.id, key: credentialsApp.key, secret: credentialsApp.secret };
    const listed = await waitFor(async () => {
      const res = await signedRequest(herald.baseUrl, signer, 'GET', '/webhooks/dead-letters');
      const body = res.body as { count: number; deadLetters: DeadLetterView[] };
      return body.count === 1 ? body : undefined;
    }, { what: 'the dead letter of the app with a credentialed webhook URL' });
    const origin = new URL(flaky.url);
    assert.equal(listed.deadLetters[0]?.url, `http://hookuser:***@${origin.host}/[redacted]?[redacted]`);
    const credentials = ['--app', credentialsApp.id, '--url', herald.baseUrl, '--key', credentialsApp.key, '--secret', credentialsApp.secret];
    for (const args of [credentials, [...credentials, '--json']]) {
      const shown = await runCli(['webhooks', 'dead-letters', ...args]);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, /hookuser:\*\*\*@/);
      assert.doesNotMatch(shown.stdout, /hook-password-1|query-secret-1/);
    }
    assert.doesNotMatch(herald.lines.join('\n'), /hook-password-1|query-secret-1/, 'nor do the logs');
  });

  it('refuses the dead-letter routes without a valid signature and a replay body of the wrong shape', async () => {
    const unsigned = await fetch(`${herald.baseUrl}/apps/${flakyApp.id}/webhooks/dead-letters`);
    assert.equal(unsigned.status, 401);
    const wrongSecret = await signedRequest(herald.baseUrl, { app: flakyApp.id, key: flakyApp.key, secret: 'not-the-secret-1' }, 'GET', '/webhooks/dead-letters');
    assert.equal(wrongSecret.status, 401);
    const badBody = await signedRequest(herald.baseUrl, { app: flakyApp.id, key: flakyApp.key, secret: flakyApp.secret }, 'POST', '/webhooks/dead-letters/replay', {
      body: { ids: 'all' },
    });
    assert.equal(badBody.status, 400);
    assert.equal((badBody.body as { path: string }).path, 'ids');
  });

  it('documents the command and refuses arguments it cannot use', async () => {
    const help = await runCli(['webhooks', 'dead-letters', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: herald webhooks dead-letters \[--replay\] \[--app ID\]/);
    assert.match(help.stdout, /lives inside the running Herald/);
    const top = await runCli(['--help']);
    assert.match(top.stdout, /webhooks dead-letters/);
    const unknown = await runCli(['webhooks', 'retry-all']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown subcommand 'retry-all'/);
    const keyWithoutApp = await runCli(['webhooks', 'dead-letters', '--key', 'k', '--secret', 'secret-secret']);
    assert.equal(keyWithoutApp.code, 2);
    assert.match(keyWithoutApp.stderr, /give --app too/);
    const unknownApp = await runCli(['webhooks', 'dead-letters', '--app', 'nope']);
    assert.equal(unknownApp.code, 2);
    assert.match(unknownApp.stderr, /app 'nope' is not in the configuration/);
  });

  it('explains where the list lives when the CLI cannot reach an embedded daemon', async () => {
    const port = await freePort();
    const res = await runCli(['webhooks', 'dead-letters', '--app', 'x', '--url', `http://127.0.0.1:${port}`, '--key', 'k', '--secret', 'secret-secret']);
    assert.equal(res.code, 1);
    assert.match(res.stderr, new RegExp(`cannot reach Herald at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)\\. .*lives inside the running Herald process`));
  });
});
