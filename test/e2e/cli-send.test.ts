import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { ApnsMock } from '../fixtures/apns/apns-mock.js';
import { testCredentials } from '../helpers/certs.js';
import { freePort } from '../helpers/free-port.js';
import { runCli, startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { deviceTokens } from '../integration/apns-harness.js';
import { signedRequest } from '../../src/client/signed-request.js';

const TOKEN = 'a1'.repeat(32);

describe('herald send: arguments', () => {
  const refused: Array<[string, string[], RegExp]> = [
    ['no --app', ['--token', TOKEN, '--title', 'T'], /--app is required/],
    ['nothing to send', ['--app', 'app-id'], /nothing to send/],
    ['a token without a payload', ['--app', 'app-id', '--token', TOKEN], /--token needs --title\/--body or --payload/],
    ['--payload and --title together', ['--app', 'app-id', '--token', TOKEN, '--title', 'T', '--payload', '{}'], /not both/],
    ['--payload that is not an object', ['--app', 'app-id', '--token', TOKEN, '--payload', '[1]'], /--payload must be a JSON object/],
    ['--title without a token', ['--app', 'app-id', '--title', 'T'], /need at least one --token/],
    ['--channel without --event', ['--app', 'app-id', '--channel', 'news'], /--channel, --event and --data go together/],
    ['--event without --data', ['--app', 'app-id', '--channel', 'news', '--event', 'e'], /--channel, --event and --data go together/],
    ['--data that is not JSON', ['--app', 'app-id', '--channel', 'news', '--event', 'e', '--data', 'hello'], /--data must be JSON/],
    ['an unknown flag', ['--app', 'app-id', '--bogus'], /bogus/],
    ['--deliver without --user', ['--app', 'app-id', '--interest', 'news', '--title', 'T', '--deliver', 'push'], /--deliver needs at least one --user/],
    ['an unknown --deliver mode', ['--app', 'app-id', '--user', '42', '--title', 'T', '--deliver', 'later'], /--deliver must be one of online-first, both, push/],
    ['--user without a payload', ['--app', 'app-id', '--user', '42'], /--user and --interest need --title\/--body or --payload/],
    ['--key without --secret', ['--app', 'app-id', '--channel', 'c', '--event', 'e', '--data', '{}', '--key', 'k'], /--key and --secret go together/],
    ['an app not in the configuration', ['--app', 'nope', '--channel', 'c', '--event', 'e', '--data', '{}'], /app 'nope' is not in the configuration/],
    ['a bad --url', ['--app', 'app-id', '--channel', 'c', '--event', 'e', '--data', '{}', '--url', 'ftp://x'], /--url must be http\(s\)/],
    ['a bad --timeout', ['--app', 'app-id', '--channel', 'c', '--event', 'e', '--data', '{}', '--timeout', '0'], /--timeout must be a positive number/],
    ['an unreadable --tokens-file', ['--app', 'app-id', '--tokens-file', '/nonexistent/tokens', '--title', 'T'], /cannot read \/nonexistent\/tokens: ENOENT/],
  ];
  for (const [what, args, message] of refused) {
    it(`refuses ${what} with exit 2 and says why`, async () => {
      const res = await runCli(['send', ...args]);
      assert.equal(res.code, 2, res.stderr);
      assert.match(res.stderr, message);
      assert.equal(res.stdout, '');
    });
  }

  it('says plainly when Herald cannot be reached (exit 1)', async () => {
    const port = await freePort();
    const res = await runCli(['send', '--app', 'app-id', '--channel', 'c', '--event', 'e', '--data', '{}', '--url', `http://127.0.0.1:${port}`]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, new RegExp(`Herald at http://127\\.0\\.0\\.1:${port} is unreachable: ECONNREFUSED`));
  });

  it('documents every flag and the exit codes in --help', async () => {
    const res = await runCli(['send', '--help']);
    assert.equal(res.code, 0);
    for (const flag of ['--app', '--token', '--tokens-file', '--title', '--body', '--payload', '--channel', '--event', '--data', '--url', '--key', '--secret', '--config', '--no-wait', '--timeout', '--json']) {
      assert.match(res.stdout, new RegExp(`${flag}\\b`), flag);
    }
    assert.match(res.stdout, /Exit status: 0 completed/);
  });
});

describe('herald send against the daemon', () => {
  const shop = { id: 'shop', key: 'shop-key', secret: 'shop-secret-0001' };
  let mock: ApnsMock;
  let herald: HeraldProcess;
  let configFile: string;
  let dir: string;

  before(async () => {
    const creds = await testCredentials();
    mock = await ApnsMock.start({ credentials: creds, auth: 'certificate' });
    const config = {
      apps: [
        {
          ...shop,
          apns: { topic: creds.bundleId, cert: creds.clientCertPath, key: creds.clientKeyPath, endpoint: { host: '127.0.0.1', port: mock.port, ca: creds.caCertPath } },
        },
      ],
    };
    herald = await startHeraldProcess({ config });
    dir = mkdtempSync(join(tmpdir(), 'herald-send-'));
    configFile = join(dir, 'herald.yaml');
    // The same apps, so `--config` supplies the credentials; the port is the daemon's.
    writeFileSync(configFile, stringify({ ...config, server: { host: '127.0.0.1', port: herald.httpPort } }));
  });

  after(async () => {
    await herald.stop();
    await mock.close();
  });

  const withFlags = (): string[] => ['--app', shop.id, '--url', herald.baseUrl, '--key', shop.key, '--secret', shop.secret];

  it('sends an alert and a realtime event, prints the id and the final status, exits 0', async () => {
    const [token] = deviceTokens(1, 'cli-one');
    const res = await runCli(['send', ...withFlags(), '--token', token as string, '--title', 'Hi', '--body', 'There', '--channel', 'news', '--event', 'e', '--data', '{"a":1}']);
    assert.equal(res.code, 0, res.stderr);
    const [id, final] = res.stdout.trim().split('\n');
    assert.match(id ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(final, 'completed: apns 1 sent, 0 failed; realtime 1 channel(s); 1 attempt(s)');
    const request = mock.requests.find((r) => r.token === token);
    assert.deepEqual(request?.payload, { aps: { alert: { title: 'Hi', body: 'There' } } });
  });

  it('sends to a user and an interest: their registered devices get the alert, the status counts the user', async () => {
    const [mine, subscribed] = deviceTokens(2, 'cli-users');
    const credentials = { app: shop.id, key: shop.key, secret: shop.secret };
    assert.equal((await signedRequest(herald.baseUrl, credentials, 'PUT', `/devices/${mine}`, { body: { userId: 'ann', platform: 'apns' } })).status, 201);
    assert.equal((await signedRequest(herald.baseUrl, credentials, 'PUT', `/devices/${subscribed}`, { body: { userId: 'bob', platform: 'apns', interests: ['deals'] } })).status, 201);
    const res = await runCli(['send', ...withFlags(), '--user', 'ann,nobody', '--interest', 'deals', '--deliver', 'push', '--title', 'Deal']);
    assert.equal(res.code, 0, res.stderr);
    const [, final] = res.stdout.trim().split('\n');
    assert.equal(final, 'completed: apns 2 sent, 0 failed; users 2: 0 online, 1 pushed, 1 without devices; 1 attempt(s)');
    for (const token of [mine, subscribed]) assert.deepEqual(mock.requests.find((r) => r.token === token)?.payload, { aps: { alert: { title: 'Deal' } } });
  });

  it('takes the credentials and the address from --config, or from the environment', async () => {
    const [a, b] = deviceTokens(2, 'cli-config');
    const fromConfig = await runCli(['send', '--app', shop.id, '--config', configFile, '--token', a as string, '--payload', '{"aps":{"alert":"cfg"}}']);
    assert.equal(fromConfig.code, 0, fromConfig.stderr);
    assert.match(fromConfig.stdout, /completed: apns 1 sent/);
    const fromEnv = await runCli(['send', '--app', shop.id, '--token', b as string, '--title', 'env'], {
      HERALD_URL: herald.baseUrl,
      HERALD_APP_KEY: shop.key,
      HERALD_APP_SECRET: shop.secret,
    });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    assert.match(fromEnv.stdout, /completed: apns 1 sent/);
    const wrong = await runCli(['send', ...withFlags().slice(0, 6), '--secret', 'not-the-secret-1', '--token', a as string, '--title', 'x']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /Invalid signature.*\[HTTP 401\]/);
  });

  it('prints progress for a large token list until it is final, and exits 3 when some tokens failed', async () => {
    const tokens = deviceTokens(2000, 'cli-bulk');
    const [slow, gone] = [tokens[10] as string, tokens[20] as string];
    // One token waits out a retry-after, so the notification is seen in progress. Two seconds, not
    // one: the daemon resends inline any wait up to 1 s, and 1 s with no jitter would be one of them.
    mock.script({ token: slow, times: 1, reply: { status: 429, reason: 'TooManyRequests', retryAfterSeconds: 2 } });
    mock.script({ token: gone, reply: { status: 410, reason: 'Unregistered' } });
    const file = join(dir, 'tokens.txt');
    writeFileSync(file, tokens.join('\n') + '\n');
    const res = await runCli(['send', ...withFlags(), '--tokens-file', file, '--title', 'Bulk']);
    assert.equal(res.code, 3, res.stderr);
    const progress = res.stderr.split('\n').filter((line) => /^(queued|active): \d+\/2000 done \(\d+ sent, \d+ failed, \d+ pending\)$/.test(line));
    assert.ok(progress.length >= 1, `expected progress lines, got:\n${res.stderr}`);
    const lines = res.stdout.trim().split('\n');
    assert.equal(lines[1], 'completed: apns 1999 sent, 1 failed; 2 attempt(s)');
    assert.equal(lines[2], `  invalid token ${gone}: Unregistered`);
    assert.equal(mock.accepted().filter((r) => tokens.includes(r.token)).length, 1999);
  });

  it('exits 1 when the notification failed, prints JSON with --json, and only the id with --no-wait', async () => {
    const [bad] = deviceTokens(1, 'cli-bad');
    mock.script({ token: bad as string, reply: { status: 400, reason: 'BadDeviceToken' } });
    const failed = await runCli(['send', ...withFlags(), '--token', bad as string, '--title', 'x', '--json']);
    assert.equal(failed.code, 1, failed.stderr);
    const [id, ...json] = failed.stdout.trim().split('\n');
    const status = JSON.parse(json.join('\n')) as { id: string; state: string; apns: { failed: number } };
    assert.equal(status.id, id);
    assert.equal(status.state, 'failed');
    assert.equal(status.apns.failed, 1);

    const quick = await runCli(['send', ...withFlags(), '--id', 'cli-no-wait', '--channel', 'news', '--event', 'e', '--data', '"x"', '--no-wait']);
    assert.equal(quick.code, 0, quick.stderr);
    assert.equal(quick.stdout, 'cli-no-wait\n');
    const again = await runCli(['send', ...withFlags(), '--id', 'cli-no-wait', '--channel', 'news', '--event', 'e', '--data', '"x"', '--no-wait']);
    assert.equal(again.code, 0);
    assert.match(again.stderr, /already exists: nothing new was queued/);
  });

  it('prints the daemon\'s refusal with the path of the problem', async () => {
    const res = await runCli(['send', ...withFlags(), '--token', 'abc', '--title', 'x']);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /herald send: .* \(at apns\.tokens\[0\]\) \[HTTP 400\]/);
  });
});
