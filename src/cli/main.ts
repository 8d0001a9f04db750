#!/usr/bin/env node
import { parseArgs } from 'node:util';

const usage = `Usage: herald <command> [options]

Commands:
  start [--config FILE]   run the gateway (default command)
  check [--config FILE]   validate the configuration and APNs credentials, print each app
  health [--config FILE]  exit 0 when this host's Herald answers GET /health (container HEALTHCHECK)
  reload [--pid PID | --pid-file FILE | --config FILE]
                          send SIGHUP: the running Herald re-reads its configuration and applies the apps
  config [--config FILE] [--json]
                          print the effective configuration (secrets masked) and where each value came from
  send  [--app ID] ...    enqueue one notification through the HTTP API and wait for its status
  webhooks dead-letters [--replay] [--app ID]
                          list (or replay) webhook batches whose every attempt failed

Options:
  --config FILE   YAML or JSON configuration (also HERALD_CONFIG)
  --help          show help for a command
  --version, -v   print Herald's version

Without a config file Herald starts the embedded demo app on 127.0.0.1:6001.`;

async function main(argv: string[]): Promise<number> {
  if (argv[0] === '--version' || argv[0] === '-v' || argv[0] === 'version') {
    console.log((await import('./version.js')).packageVersion());
    return 0;
  }
  const command = argv[0] && !argv[0].startsWith('-') ? argv[0] : 'start';
  const rest = argv[0] === command ? argv.slice(1) : argv;
  if (command === 'help' || (command === 'start' && rest.includes('--help') && argv[0] !== 'start')) {
    console.log(usage);
    return 0;
  }
  // Each command loads only its own modules: `health` runs every few seconds in the container
  // and needs the config loader, not the daemon.
  switch (command) {
    case 'start':
      return (await import('./start.js')).runStart(parseCommon(rest, startUsage));
    case 'check':
      return (await import('./check.js')).runCheck(parseCommon(rest, checkUsage));
    case 'health':
      return (await import('./health.js')).runHealth(parseCommon(rest, healthUsage));
    case 'reload':
      return (await import('./reload.js')).runReload(rest);
    case 'send':
      return (await import('./send.js')).runSend(rest);
    case 'config':
      return (await import('./config.js')).runConfig(rest);
    case 'webhooks':
      return (await import('./dead-letters.js')).runWebhooks(rest);
    default:
      console.error(`herald: unknown command '${command}'\n\n${usage}`);
      return 2;
  }
}

const startUsage = 'Usage: herald start [--config FILE]\n\nRuns the gateway until SIGTERM or SIGINT (a second signal exits at once).';
const healthUsage = 'Usage: herald health [--config FILE]\n\nAsks GET /health of the Herald this configuration describes (server.host, or loopback when it\nlistens on every interface, and server.port; HERALD_HOST and HERALD_PORT apply). Exits 0 on 2xx, 1 otherwise.';
const checkUsage = 'Usage: herald check [--config FILE]\n\nValidates the configuration, opens every app\'s APNs credentials and prints\neach app\'s auth mode, topics, environment and certificate expiry. Exits non-zero on any problem.';

function parseCommon(args: string[], help: string): { config?: string } {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) {
    console.log(help);
    process.exit(0);
  }
  return values.config === undefined ? {} : { config: values.config };
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`herald: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 2;
  },
);
