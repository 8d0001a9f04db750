import { loadConfig } from '../config/load.js';
import type { HeraldConfig } from '../config/load.js';
import { isHeraldError } from '../errors.js';

/** Validates configuration (and, once the APNs provider lands, credentials) and prints each app. */
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
  console.log(`  mode ${config.redis.url ? `redis (${config.redis.mode})` : 'embedded (no Redis)'}`);
  for (const app of config.apps) {
    const apns = app.apns;
    const auth = !apns ? 'no APNs' : apns.token ? `APNs token (key ${apns.token.keyId}, team ${apns.token.teamId})` : apns.pfx ? 'APNs certificate (PKCS#12)' : 'APNs certificate (PEM)';
    console.log(`  app ${app.id}: key ${app.key}, ${app.enabled ? 'enabled' : 'disabled'}, ${auth}${apns ? `, topic ${apns.topic}, ${apns.production ? 'production' : 'development'}` : ''}`);
  }
  return 0;
}
