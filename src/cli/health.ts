import { loadConfig } from '../config/load.js';
import { isHeraldError } from '../errors.js';

/**
 * The address a probe on the same host reaches the API at: the configured host, or
 * loopback when the server listens on every interface (0.0.0.0 or ::).
 */
export function probeUrl(server: { host: string; port: number }): string {
  const host = server.host === '0.0.0.0' || server.host === '' ? '127.0.0.1' : server.host === '::' ? '::1' : server.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${server.port}/health`;
}

/**
 * `herald health`: exits 0 when this host's Herald answers GET /health with 2xx, 1 when
 * not. Reads the same configuration as `start` (file, HERALD_CONFIG, HERALD_HOST,
 * HERALD_PORT...), so the container HEALTHCHECK follows whatever port the daemon uses.
 */
export async function runHealth(options: { config?: string; timeoutMs?: number }): Promise<number> {
  let url: string;
  try {
    url = probeUrl(loadConfig({ file: options.config }).server);
  } catch (err) {
    if (isHeraldError(err)) {
      console.error(`herald: ${err.message}`);
      return 2;
    }
    throw err;
  }
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 2_000) });
    if (response.ok) return 0;
    console.error(`herald: ${url} answered ${response.status}`);
    return 1;
  } catch (err) {
    console.error(`herald: ${url} did not answer: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}
