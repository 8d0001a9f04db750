import { parseArgs } from 'node:util';
import { leafPaths, loadConfigWithOrigins } from '../config/load.js';
import type { LoadedConfig } from '../config/load.js';
import { redactConfig } from '../config/redact.js';
import { isHeraldError } from '../errors.js';

export const configUsage = `Usage: herald config [--config FILE] [--json]

Prints the effective configuration: the file (--config or HERALD_CONFIG), then the
HERALD_* environment variables (docs/configuration.md), then secret files, with
where each value came from: default, file PATH, env HERALD_X, or secret file PATH.
Secrets, credentials in URLs and webhook header values are masked, never printed.

  --config FILE   YAML or JSON configuration (also HERALD_CONFIG)
  --json          {"source", "demo", "config", "origins": {"key": "where"}}

Exit status: 0 printed, 2 the configuration is invalid (each problem named).`;

const credentialName = /(secret|passphrase|password|token)$/i;

export function runConfig(args: string[]): number {
  let values: { config?: string | undefined; json?: boolean | undefined; help?: boolean | undefined };
  try {
    values = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true }).values;
  } catch (err) {
    console.error(`herald config: ${(err as Error).message}\n\n${configUsage}`);
    return 2;
  }
  if (values.help) {
    console.log(configUsage);
    return 0;
  }
  let loaded: LoadedConfig;
  try {
    loaded = loadConfigWithOrigins({ file: values.config });
  } catch (err) {
    if (isHeraldError(err)) {
      console.error(`herald config: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const { config, origins } = loaded;
  // A second guard behind redactConfig: a string under a credential-like name is masked
  // whatever section it sits in, so a key added later cannot leak through this command.
  const masked = JSON.parse(
    JSON.stringify(redactConfig(config), (key, value: unknown) => (typeof value === 'string' && credentialName.test(key) ? '[redacted]' : value)),
  ) as Record<string, unknown>;
  const { demo, source, ...settings } = masked;
  const leaves = leafPaths(settings);
  if (values.json) {
    const originsOut = Object.fromEntries(leaves.map(([path]) => [path, origins.get(path) ?? 'default']));
    console.log(JSON.stringify({ source, demo, config: settings, origins: originsOut }, null, 2));
    return 0;
  }
  console.log(`# configuration: ${String(source)}${demo === true ? ' (embedded demo app)' : ''}`);
  const shown = leaves.map(([path, value]) => [`${path} = ${JSON.stringify(value)}`, origins.get(path) ?? 'default'] as const);
  const width = Math.min(72, Math.max(...shown.map(([line]) => line.length)));
  for (const [line, origin] of shown) console.log(`${line.padEnd(width)}  # ${origin}`);
  return 0;
}
