import { readFileSync } from 'node:fs';
import type { WebPushConfig } from '../../config/webpush-schema.js';
import { vapidKeyPair } from '../../lib/p256-keys.js';
import type { VapidKeyPair } from '../../lib/p256-keys.js';

/**
 * Opens an app's VAPID key pair, reading `privateKeyFile` when the key is not inline.
 * A problem names the app and the key, never the key's value.
 */
export function loadVapidKeys(app: string, vapid: WebPushConfig['vapid']): { ok: true; keys: VapidKeyPair } | { ok: false; problem: string } {
  let privateKey = vapid.privateKey;
  let where = 'privateKey';
  if (privateKey === undefined) {
    where = 'privateKeyFile';
    const file = vapid.privateKeyFile ?? '';
    try {
      privateKey = readFileSync(file, 'utf8');
    } catch (err) {
      return { ok: false, problem: `app ${app}: webpush.vapid.privateKeyFile: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}` };
    }
  }
  const pair = vapidKeyPair(vapid.publicKey, privateKey);
  if (!pair.ok) return { ok: false, problem: `app ${app}: webpush.vapid.${pair.key === 'privateKey' ? where : 'publicKey'}: ${pair.message}` };
  return { ok: true, keys: pair.keys };
}
