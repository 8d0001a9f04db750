import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { AppFcmConfig } from '../../config/load.js';
import { HeraldError } from '../../errors.js';

export const FCM_HOST = 'fcm.googleapis.com';

export interface FcmEndpoint {
  readonly host: string;
  readonly port: number;
  /** Trusted CA for the send endpoint and the token URI; Node's default store when absent. */
  readonly ca?: Buffer;
}

/** One app's service account, opened: what the access token and the send requests need. */
export interface FcmCredentials {
  readonly app: string;
  readonly projectId: string;
  readonly clientEmail: string;
  readonly privateKeyId?: string;
  readonly key: KeyObject;
  readonly tokenUri: string;
  readonly endpoint: FcmEndpoint;
  /** Apps of one project on one endpoint share connections (authorization is per request). */
  readonly poolKey: string;
  /** Apps with the same service account share one access token. */
  readonly tokenKey: string;
}

/**
 * Opens an app's FCM credentials. The service account was checked when the config was
 * loaded; what can still fail here is the endpoint's CA file (or a key given in code,
 * past that check). Throws HERALD_CREDENTIALS_INVALID naming the app and the file or
 * field, never the key.
 */
export function loadFcmCredentials(appId: string, fcm: AppFcmConfig): FcmCredentials {
  const account = fcm.serviceAccount;
  let ca: Buffer | undefined;
  if (fcm.endpoint?.ca !== undefined) {
    try {
      ca = readFileSync(fcm.endpoint.ca);
    } catch (err) {
      throw new HeraldError('HERALD_CREDENTIALS_INVALID', `app ${appId}: ${resolve(fcm.endpoint.ca)}: cannot read the FCM endpoint CA file: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  const endpoint: FcmEndpoint = { host: fcm.endpoint?.host ?? FCM_HOST, port: fcm.endpoint?.port ?? 443, ...(ca === undefined ? {} : { ca }) };
  const key = rsaKey(account.privateKey);
  // The config edge checked it; an AppConfig made in code was not. OpenSSL's message is dropped: nothing of the key is shown.
  if (!key) throw new HeraldError('HERALD_CREDENTIALS_INVALID', `app ${appId}: the FCM service account's private_key is not an RSA private key in PEM form`);
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const keyHash = createHash('sha256').update(spki).digest('hex').slice(0, 16);
  return {
    app: appId,
    projectId: account.projectId,
    clientEmail: account.clientEmail,
    ...(account.privateKeyId === undefined ? {} : { privateKeyId: account.privateKeyId }),
    key,
    tokenUri: account.tokenUri,
    endpoint,
    poolKey: `fcm:${account.projectId}@${endpoint.host}:${endpoint.port}`,
    tokenKey: `${account.clientEmail}:${keyHash}@${account.tokenUri}`,
  };
}

function rsaKey(pem: string): KeyObject | undefined {
  try {
    const key = createPrivateKey(pem);
    return key.asymmetricKeyType === 'rsa' ? key : undefined;
  } catch {
    return undefined;
  }
}
