import { loadConfig } from '../config/load.js';
import type { AppConfig, HeraldConfig } from '../config/load.js';
import { isHeraldError } from '../errors.js';
import { daysUntilExpiry, loadApnsCredentials } from '../providers/apns/credentials.js';
import { redisConfigured } from '../redis/redis-client.js';
import type { ApnsCredentials } from '../providers/apns/credentials.js';
import { AccessToken } from '../providers/fcm/access-token.js';
import { loadFcmCredentials } from '../providers/fcm/fcm-credentials.js';
import { loadVapidKeys } from '../providers/webpush/vapid-credentials.js';

/**
 * Validates the configuration, opens every app's APNs credentials and VAPID keys the
 * way start-up does, fetches an FCM access token per app, and prints each app. Exit codes: 0 all good, 1 some app's credentials cannot
 * be used (each named on stderr with its file), 2 the configuration itself is invalid.
 */
export async function runCheck(options: { config?: string }): Promise<number> {
  let config: HeraldConfig;
  try {
    config = loadConfig({ file: options.config });
  } catch (err) {
    if (isHeraldError(err)) {
      console.error(`herald check: ${err.message}`);
      return 2;
    }
    throw err;
  }
  console.log(`configuration ok (${config.source})`);
  console.log(`  server ${config.server.host}:${config.server.port}, metrics ${config.metrics.enabled ? `${config.metrics.host}:${config.metrics.port}` : 'disabled'}`);
  console.log(`  mode ${redisConfigured(config.redis) ? `redis (${config.redis.mode})` : 'embedded (no Redis)'}`);
  let failures = 0;
  for (const app of config.apps) {
    const apns = app.apns;
    const auth = !apns ? 'no APNs' : apns.token ? `APNs token (key ${apns.token.keyId}, team ${apns.token.teamId})` : apns.pfx ? 'APNs certificate (PKCS#12)' : 'APNs certificate (PEM)';
    console.log(`  app ${app.id}: key ${app.key}, ${app.enabled ? 'enabled' : 'disabled'}, ${auth}${apns ? `, topic ${apns.topic}, ${apns.production ? 'production' : 'development'}` : ''}`);
    if (!checkApns(app)) failures += 1;
    if (!(await checkFcm(app))) failures += 1;
    if (!checkWebPush(app)) failures += 1;
  }
  if (failures > 0) {
    console.error(`herald check: push credentials of ${failures} app${failures === 1 ? '' : 's'} cannot be used`);
    return 1;
  }
  return 0;
}

/** Prints the app's credential details; false (with the reason on stderr) when they cannot be used. */
function checkApns(app: AppConfig): boolean {
  if (!app.apns) return true;
  let credentials: ApnsCredentials;
  try {
    credentials = loadApnsCredentials(app.id, app.apns);
  } catch (err) {
    if (!isHeraldError(err, 'HERALD_CREDENTIALS_INVALID')) throw err;
    console.log('    credentials: NOT USABLE (see stderr)');
    console.error(`herald check: ${err.message}`);
    return false;
  }
  for (const line of describe(credentials)) console.log(`    ${line}`);
  for (const warning of credentials.warnings) console.log(`    warning: ${warning}`);
  return true;
}

function describe(credentials: ApnsCredentials): string[] {
  const { auth, endpoint } = credentials;
  const configured = endpoint.production ? 'production' : 'development';
  const where = `endpoint: ${endpoint.host}:${endpoint.port}${endpoint.ca ? ' (custom CA)' : ''}`;
  if (auth.mode === 'token') {
    return [`auth: token, ES256 key ${auth.file}, key id ${auth.keyId}, team ${auth.teamId}`, `environment: ${configured} (configured)`, where];
  }
  const cert = auth.certificate;
  const days = daysUntilExpiry(credentials) ?? 0;
  return [
    auth.format === 'pem' ? `auth: certificate (PEM) ${auth.file}, key ${auth.keyFile ?? ''}` : `auth: certificate (PKCS#12) ${auth.file}`,
    `subject: ${cert.subject}`,
    `topics: ${cert.topics.length > 0 ? cert.topics.join(', ') : '(none listed)'}`,
    `environment: ${cert.environment} (certificate), ${configured} (configured)`,
    `expires: ${cert.notAfter.toISOString()} (in ${days} day${days === 1 ? '' : 's'})`,
    where,
  ];
}

/** Fetches an FCM access token with the app's service account: the token endpoint accepting the assertion proves the key. */
async function checkFcm(app: AppConfig): Promise<boolean> {
  if (!app.fcm) return true;
  const fcm = app.fcm;
  const refused = (detail: string): boolean => {
    console.log('    fcm: NOT USABLE (see stderr)');
    console.error(`herald check: app ${app.id}: FCM ${detail}`);
    return false;
  };
  let credentials;
  try {
    credentials = loadFcmCredentials(app.id, fcm);
  } catch (err) {
    if (!isHeraldError(err, 'HERALD_CREDENTIALS_INVALID')) throw err;
    return refused(err.message);
  }
  const { clientEmail, key, tokenUri, privateKeyId, endpoint, projectId } = credentials;
  console.log(`    fcm: project ${projectId}, service account ${clientEmail}, endpoint ${endpoint.host}:${endpoint.port}${endpoint.ca ? ' (custom CA)' : ''}`);
  const token = new AccessToken({ clientEmail, key, tokenUri, timeoutMs: fcm.requestTimeoutMs, ...(privateKeyId === undefined ? {} : { privateKeyId }), ...(endpoint.ca === undefined ? {} : { ca: endpoint.ca }) });
  const state = await token.current();
  if (state.kind === 'token') {
    console.log(`    fcm: access token granted by ${tokenUri}`);
    return true;
  }
  return refused(state.kind === 'refused' ? `service account refused by ${tokenUri}: ${state.reason} (status ${state.status})` : `token endpoint ${tokenUri} unavailable: ${state.reason}`);
}

/** Opens the app's VAPID key pair as start-up does (a privateKeyFile is read here); push services are not contacted. */
function checkWebPush(app: AppConfig): boolean {
  if (!app.webpush) return true;
  const { vapid, allowPrivateEndpoints } = app.webpush;
  const keys = loadVapidKeys(app.id, vapid);
  if (!keys.ok) {
    console.log('    webpush: NOT USABLE (see stderr)');
    console.error(`herald check: Web Push ${keys.problem}`);
    return false;
  }
  console.log(`    webpush: VAPID key ${vapid.publicKey.slice(0, 12)}…, subject ${vapid.subject}${allowPrivateEndpoints ? ', private endpoints allowed' : ''}`);
  return true;
}
