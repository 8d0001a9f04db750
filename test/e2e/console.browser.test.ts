import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { signedRequest } from '../../src/client/signed-request.js';
import { FcmMock } from '../fixtures/fcm/fcm-mock.js';
import { makeServiceAccount } from '../fixtures/fcm/service-account-fixture.js';
import { testCredentials } from '../helpers/certs.js';
import { repoRoot, startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';
import { PusherClient, serverSdk } from '../helpers/pusher-clients.js';

const CHROMIUM = '/usr/bin/chromium';
const CONSOLE_TOKEN = 'console-token-for-the-browser-test';
const APP = { id: 'app-id', key: 'app-key', secret: 'app-secret-123' };
const DEVICE_TOKEN = 'ab'.repeat(32);
/** The page once it shows the events: a test artifact, and (HERALD_UPDATE_SCREENSHOT=1) README's image. */
const SCREENSHOT = join(repoRoot, 'test-results/console.png');
const README_IMAGE = join(repoRoot, 'docs/images/console.png');
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install chromium)`;

describe('debug console in a real browser', { skip }, () => {
  let herald: HeraldProcess;
  let browser: BrowserContext;
  let fcm: FcmMock;

  before(async () => {
    const credentials = await testCredentials();
    fcm = await FcmMock.start({ credentials });
    const account = makeServiceAccount(fcm.tokenUri);
    fcm.addAccount({ clientEmail: account.clientEmail, projectId: account.projectId, publicKey: account.publicKey });
    const fcmBlock = { serviceAccountFile: account.path, endpoint: { host: '127.0.0.1', port: fcm.port, ca: credentials.caCertPath } };
    herald = await startHeraldProcess({
      config: { apps: [{ ...APP, apns: { dryRun: true }, fcm: fcmBlock }], console: { enabled: true, token: CONSOLE_TOKEN } },
    });
    // A fresh profile each run; playwright-core drives the system's Chromium and downloads nothing.
    browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'herald-chromium-')), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  after(async () => {
    await browser?.close();
    await herald?.stop();
    await fcm?.close();
  });

  const open = async (token: string): Promise<Page> => {
    const page = await browser.newPage();
    await page.goto(`${herald.baseUrl}/console`);
    await page.fill('#token', token);
    await page.click('#connect');
    return page;
  };

  it('shows a pusher-js connection, a published event and a dry-run push delivered', async () => {
    const page = await open(CONSOLE_TOKEN);
    await page.waitForSelector('body[data-connected="app-id"]');
    const client = new PusherClient(APP.key, { cluster: 'mt1', wsHost: '127.0.0.1', wsPort: herald.httpPort, forceTLS: false, enabledTransports: ['ws'] });
    try {
      const subscribed = new Promise<void>((resolve) => client.subscribe('news').bind('pusher:subscription_succeeded', () => resolve()));
      await subscribed;
      const socketId = client.connection.socket_id;
      await page.waitForSelector(`#events li[data-type="connection.opened"]:has-text("${socketId}")`);
      await page.waitForSelector(`#events li[data-type="subscribed"]:has-text("news")`);

      await serverSdk(herald.httpPort, APP).trigger('news', 'breaking', { headline: 'console sees it' });
      await page.waitForSelector('#events li[data-type="publish"]:has-text("console sees it")');
      await page.waitForSelector('#channels td:has-text("news")');

      await page.fill('#push-token', DEVICE_TOKEN);
      await page.click('#notify button');
      await page.waitForSelector(`#events li[data-type="apns.result"]:has-text("delivered"):has-text("${DEVICE_TOKEN}")`);
      await page.waitForSelector('#events li[data-type="notification.completed"]');

      mkdirSync(join(repoRoot, 'test-results'), { recursive: true });
      await page.setViewportSize({ width: 1280, height: 800 });
      // The forms scrolled the page down; the feed is at the top.
      await page.evaluate('window.scrollTo(0, 0)');
      await page.screenshot({ path: SCREENSHOT, fullPage: false });
      assert.ok(existsSync(SCREENSHOT), 'the screenshot artifact is written');
      if (process.env.HERALD_UPDATE_SCREENSHOT === '1') copyFileSync(SCREENSHOT, README_IMAGE);
    } finally {
      client.disconnect();
      await page.close();
    }
  });

  it('labels FCM results and invalid tokens as FCM, marks refusals, and the filter tells the providers apart', async () => {
    const page = await open(CONSOLE_TOKEN);
    await page.waitForSelector('body[data-connected="app-id"]');
    const apnsToken = 'cd'.repeat(32);
    const [delivered, gone] = ['fcm-delivered:APA91b', 'fcm-gone:APA91b'];
    fcm.script({ token: gone, reply: { error: 'UNREGISTERED' } });
    const credentials = { app: APP.id, key: APP.key, secret: APP.secret };
    const accepted = await signedRequest(herald.baseUrl, credentials, 'POST', '/notifications', { body: { v: 1, app: APP.id, alert: { title: 'both' }, apns: { tokens: [apnsToken] }, fcm: { tokens: [delivered, gone] } } });
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    try {
      const apnsRow = await page.waitForSelector(`#events li[data-type="apns.result"]:has-text("${apnsToken}")`);
      const fcmRow = await page.waitForSelector(`#events li.fcm[data-type="fcm.result"][data-outcome="delivered"]:has-text("${delivered}")`);
      assert.match((await fcmRow.textContent()) ?? '', /"messageId":"projects\/[^"]+\/messages\//);
      const refused = await page.waitForSelector(`#events li.fcm[data-type="fcm.result"][data-outcome="rejected"]:has-text("${gone}")`);
      const invalid = await page.waitForSelector(`#events li[data-type="fcm.token_invalid"]:has-text("${gone}")`);
      // The tests compile without the DOM library; the function runs in the page.
      const colour = (row: typeof fcmRow) => row.$eval('.type', (el) => (globalThis as unknown as { getComputedStyle(e: unknown): { color: string } }).getComputedStyle(el).color);
      assert.equal(await colour(fcmRow), await colour(apnsRow), 'results share one colour whatever the provider');
      assert.notEqual(await colour(refused), await colour(fcmRow), 'a refused token stands out');
      assert.equal(await colour(invalid), await colour(refused));

      await page.fill('#filter', 'fcm.');
      await page.waitForSelector(`#events li[data-type="apns.result"]:has-text("${apnsToken}")`, { state: 'hidden' });
      assert.equal(await fcmRow.isVisible(), true);
      assert.equal(await invalid.isVisible(), true);
      await page.fill('#filter', 'apns.result');
      await page.waitForSelector(`#events li[data-type="fcm.result"]:has-text("${delivered}")`, { state: 'hidden' });
      assert.equal(await apnsRow.isVisible(), true);
    } finally {
      await page.close();
    }
  });

  it('refuses a wrong token with 401 and says so on the page', async () => {
    const response = await fetch(`${herald.baseUrl}/console/api/apps`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } });
    assert.equal(response.status, 401);
    const page = await open('wrong-token-wrong-token');
    await page.waitForSelector('#status.error:has-text("401")');
    await page.close();
    assert.ok(!herald.lines.some((line) => line.includes(CONSOLE_TOKEN)), 'the console token never reaches the logs');
  });
});
