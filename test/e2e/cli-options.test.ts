import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { ApnsMock } from '../fixtures/apns/apns-mock.js';
import { testCredentials } from '../helpers/certs.js';
import { repoRoot, runCli, startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { deviceTokens } from '../integration/apns-harness.js';

const TOKEN = 'a1'.repeat(32);
const dir = mkdtempSync(join(tmpdir(), 'herald-cli-options-'));

describe('herald send: push type, priority, topic, expiration, collapse id, send-at, payload from file or stdin', () => {
  const refused: Array<[string, string[], RegExp]> = [
    ['an unknown --push-type', ['--token', TOKEN, '--title', 'T', '--push-type', 'silent'], /--push-type must be one of alert, background, voip/],
    ['a --priority other than 1, 5, 10', ['--token', TOKEN, '--title', 'T', '--priority', '7'], /--priority must be 1, 5 or 10, got '7'/],
    ['an --expiration that is no time', ['--token', TOKEN, '--title', 'T', '--expiration', 'tomorrow'], /--expiration must be UNIX seconds or an ISO 8601 time/],
    ['a --send-at that is no ISO time', ['--token', TOKEN, '--title', 'T', '--send-at', '1767225600'], /--send-at must be an ISO 8601 time/],
    ['--push-type without a token', ['--channel', 'c', '--event', 'e', '--data', '{}', '--push-type', 'voip'], /need at least one --token/],
    ['--payload and --payload-file together', ['--token', TOKEN, '--payload', '{}', '--payload-file', '/x'], /give --payload or --payload-file, not both/],
    ['an unreadable --payload-file', ['--token', TOKEN, '--payload-file', '/nonexistent/payload.json'], /--payload-file: cannot read \/nonexistent\/payload\.json: ENOENT/],
    ['--payload-file with --title', ['--token', TOKEN, '--payload-file', join(repoRoot, 'package.json'), '--title', 'T'], /give --title\/--body or --payload-file, not both/],
    ['a --payload-file that is not a JSON object', ['--token', TOKEN, '--payload-file', join(repoRoot, 'README.md')], /--payload-file must be a JSON object/],
  ];
  for (const [what, args, message] of refused) {
    it(`refuses ${what} with exit 2`, async () => {
      const res = await runCli(['send', '--app', 'app-id', ...args]);
      assert.equal(res.code, 2, res.stderr);
      assert.match(res.stderr, message);
    });
  }

  it('refuses a payload file or stdin over 1 MiB before parsing it', async () => {
    const big = join(dir, 'big.json');
    writeFileSync(big, `{"aps":{"alert":"${'x'.repeat(1024 * 1024)}"}}`);
    const fromFile = await runCli(['send', '--app', 'app-id', '--token', TOKEN, '--payload-file', big]);
    assert.equal(fromFile.code, 2);
    assert.match(fromFile.stderr, /--payload-file: more than 1048576 bytes/);
    const fromStdin = await runCli(['send', '--app', 'app-id', '--token', TOKEN, '--payload', '-'], {}, readFileSync(big, 'utf8'));
    assert.equal(fromStdin.code, 2);
    assert.match(fromStdin.stderr, /--payload -: more than 1048576 bytes/);
  });

  it('says HERALD_APP_ID is the alternative to --app', async () => {
    const res = await runCli(['send', '--token', TOKEN, '--title', 'T']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /--app is required \(or set HERALD_APP_ID\)/);
  });

  it('documents the new flags in --help', async () => {
    const res = await runCli(['send', '--help']);
    assert.equal(res.code, 0);
    for (const flag of ['--push-type', '--priority', '--topic', '--expiration', '--collapse-id', '--send-at', '--payload-file']) assert.match(res.stdout, new RegExp(`${flag}\\b`), flag);
    assert.match(res.stdout, /'-' reads it from stdin/);
    assert.match(res.stdout, /HERALD_APP_ID/);
  });

  describe('against the daemon and the APNs fixture', () => {
    const shop = { id: 'shop', key: 'shop-key', secret: 'shop-secret-0001' };
    let mock: ApnsMock;
    let herald: HeraldProcess;
    let bundleId: string;
    let env: Record<string, string>;

    before(async () => {
      const creds = await testCredentials();
      bundleId = creds.bundleId;
      mock = await ApnsMock.start({ credentials: creds, auth: 'certificate' });
      herald = await startHeraldProcess({
        config: {
          apps: [{ ...shop, apns: { topic: creds.bundleId, cert: creds.clientCertPath, key: creds.clientKeyPath, endpoint: { host: '127.0.0.1', port: mock.port, ca: creds.caCertPath } } }],
        },
      });
      // No --app, --key, --secret or --url: all from the environment.
      env = { HERALD_URL: herald.baseUrl, HERALD_APP_ID: shop.id, HERALD_APP_KEY: shop.key, HERALD_APP_SECRET: shop.secret };
    });

    after(async () => {
      await herald.stop();
      await mock.close();
    });

    it('delivers a background push read from stdin with apns-push-type background and priority 5, the app from HERALD_APP_ID', async () => {
      const [token] = deviceTokens(1, 'cli-background');
      const payload = { aps: { 'content-available': 1 }, sync: 'inbox' };
      const res = await runCli(['send', '--token', token as string, '--payload', '-', '--push-type', 'background', '--priority', '5', '--collapse-id', 'inbox-sync', '--expiration', '2100-01-01T00:00:00Z'], env, JSON.stringify(payload));
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, /completed: apns 1 sent/);
      const request = mock.requests.find((r) => r.token === token);
      assert.ok(request, 'the push reached the APNs fixture');
      assert.equal(request.headers['apns-push-type'], 'background');
      assert.equal(request.headers['apns-priority'], '5');
      assert.equal(request.headers['apns-collapse-id'], 'inbox-sync');
      assert.equal(request.headers['apns-expiration'], String(Date.parse('2100-01-01T00:00:00Z') / 1000));
      assert.deepEqual(request.payload, payload);
    });

    it('delivers a VoIP push from --payload-file to the .voip topic, and sends an explicit --topic as given', async () => {
      const [voip, other] = deviceTokens(2, 'cli-voip');
      const file = join(dir, 'voip.json');
      writeFileSync(file, JSON.stringify({ aps: {}, caller: 'Ada' }));
      const res = await runCli(['send', '--token', voip as string, '--payload-file', file, '--push-type', 'voip', '--expiration', '0'], env);
      assert.equal(res.code, 0, res.stderr);
      const request = mock.requests.find((r) => r.token === voip);
      assert.equal(request?.headers['apns-push-type'], 'voip');
      assert.equal(request?.headers['apns-topic'], `${bundleId}.voip`);
      assert.equal(request?.headers['apns-expiration'], '0');
      assert.deepEqual(request?.payload, { aps: {}, caller: 'Ada' });

      // The fixture's certificate allows the bundle id, .voip and .complication: an alert to .voip is off the default.
      const topic = `${bundleId}.voip`;
      const second = await runCli(['send', '--token', other as string, '--title', 'explicit topic', '--topic', topic], env);
      assert.equal(second.code, 0, second.stdout + second.stderr);
      const otherRequest = mock.requests.find((r) => r.token === other);
      assert.equal(otherRequest?.headers['apns-push-type'], 'alert');
      assert.equal(otherRequest?.headers['apns-topic'], topic);
    });

    it('holds a --send-at notification until its time', async () => {
      const [token] = deviceTokens(1, 'cli-send-at');
      const sendAt = new Date(Date.now() + 1_500).toISOString();
      const res = await runCli(['send', '--token', token as string, '--title', 'later', '--send-at', sendAt], env);
      assert.equal(res.code, 0, res.stderr);
      const request = mock.requests.find((r) => r.token === token);
      assert.ok(request, 'delivered');
      assert.ok(request.at >= Date.parse(sendAt), `delivered ${Date.parse(sendAt) - request.at} ms before --send-at`);
    });
  });
});

describe('herald --version', () => {
  it('prints the package version for --version and -v', async () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      const res = await runCli([flag]);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stdout, `${version}\n`);
    }
    assert.match((await runCli(['--help'])).stdout, /--version, -v/);
  });
});

describe('herald config', () => {
  const secretPath = join(dir, 'app-secret');
  const redisUrlPath = join(dir, 'redis-url');
  const file = join(dir, 'herald.yaml');

  before(() => {
    writeFileSync(secretPath, 'file-secret-77\n');
    writeFileSync(redisUrlPath, 'redis://:hunter2-pw@10.1.2.3:6379/0\n');
    writeFileSync(
      file,
      stringify({
        server: { port: 7311 },
        apps: [{ id: 'a1', key: 'k1', secretFile: secretPath, webhooks: [{ url: 'https://hooks.example/x', events: ['channel_occupied'], headers: { Authorization: 'Bearer hook-token-9' } }] }],
      }),
    );
  });

  const env = (): Record<string, string> => ({ HERALD_REDIS_URL_FILE: redisUrlPath, HERALD_SERVER_REQUEST_TIMEOUT_MS: '45000' });

  it('prints each effective value with where it came from, and never a secret', async () => {
    const res = await runCli(['config', '--config', file], env());
    assert.equal(res.code, 0, res.stderr);
    const line = (key: string): string => res.stdout.split('\n').find((l) => l.startsWith(`${key} = `)) ?? '';
    assert.match(line('server.port'), new RegExp(`= 7311 +# file ${file}$`));
    assert.match(line('server.host'), /= "127\.0\.0\.1" +# default$/);
    assert.match(line('server.requestTimeoutMs'), /= 45000 +# env HERALD_SERVER_REQUEST_TIMEOUT_MS$/);
    assert.match(line('redis.url'), /= "redis:\/\/[^"]*10\.1\.2\.3:6379\/0" +# env HERALD_REDIS_URL_FILE$/);
    assert.match(line('apps[0].secret'), new RegExp(`= "\\[redacted\\]" +# secret file ${secretPath}$`));
    for (const secret of ['file-secret-77', 'hunter2-pw', 'hook-token-9']) assert.ok(!res.stdout.includes(secret), `${secret} printed`);
  });

  it('--json gives the redacted config and the origin of every key', async () => {
    const res = await runCli(['config', '--config', file, '--json'], env());
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as { source: string; config: { server: { port: number }; apps: Array<{ secret: string }> }; origins: Record<string, string> };
    assert.equal(out.source, file);
    assert.equal(out.config.server.port, 7311);
    assert.equal(out.config.apps[0]?.secret, '[redacted]');
    assert.equal(out.origins['server.requestTimeoutMs'], 'env HERALD_SERVER_REQUEST_TIMEOUT_MS');
    assert.equal(out.origins['apps[0].webhooks[0].headers.Authorization'], `file ${file}`);
    for (const secret of ['file-secret-77', 'hunter2-pw', 'hook-token-9']) assert.ok(!res.stdout.includes(secret), `${secret} printed`);
  });

  it('exits 2 naming the variable when the configuration is invalid, and has --help', async () => {
    const res = await runCli(['config'], { HERALD_QUEUE_CONCURRENCY: 'many' });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /queue\.concurrency: must be an integer, got 'many' \(env HERALD_QUEUE_CONCURRENCY\)/);
    const help = await runCli(['config', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--json/);
    assert.match(help.stdout, /never printed/);
  });
});
