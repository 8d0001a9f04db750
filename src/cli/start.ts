import { loadConfig } from '../config/load.js';
import type { HeraldConfig } from '../config/load.js';
import { isHeraldError } from '../errors.js';
import { createLogger } from '../log/logger.js';
import { startHerald } from '../main.js';
import { removePidFile, writePidFile } from './pid-file.js';
import type { RunningHerald } from '../main.js';

export async function runStart(options: { config?: string }): Promise<number> {
  let config: HeraldConfig;
  try {
    config = loadConfig({ file: options.config });
  } catch (err) {
    if (isHeraldError(err)) {
      console.error(`herald: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const log = createLogger(config.log);
  // Handlers go in before start-up so a signal during start-up is honoured once listening.
  let herald: RunningHerald | undefined;
  let pendingSignal: NodeJS.Signals | undefined;
  let signals = 0;
  const shutdown = (running: RunningHerald, signal: NodeJS.Signals): void => {
    log.info({ signal, graceMs: config.server.shutdownGraceMs }, 'shutting down');
    running.stop().then(
      () => {
        if (config.server.pidFile !== undefined) removePidFile(config.server.pidFile);
        log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      log.warn({ signal }, 'second signal: exiting at once');
      process.exit(130);
    }
    if (herald) shutdown(herald, signal);
    else pendingSignal = signal;
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // SIGHUP re-reads the same sources as start-up (file, env, secret files) and applies the apps; see docs/runbook.md.
  // Before start-up completes there is nothing to reload, and Node's default for SIGHUP would exit.
  process.on('SIGHUP', () => {
    if (herald) herald.reload(() => loadConfig({ file: options.config }));
    else log.warn('SIGHUP before start-up completed: ignored');
  });

  try {
    herald = await startHerald(config, log);
  } catch (err) {
    log.fatal({ err }, 'start-up failed');
    console.error(`herald: start-up failed: ${err instanceof Error ? err.message : String(err)}`);
    // What started before the failure (Redis connections, listeners) would keep the process alive.
    process.exit(1);
  }
  if (config.demo) printDemoBanner(config, herald.httpPort, herald.metricsPort, herald.consoleUrl);
  if (config.server.pidFile !== undefined) writePidFile(config.server.pidFile, log);
  if (pendingSignal) shutdown(herald, pendingSignal);
  return 0;
}

function printDemoBanner(config: HeraldConfig, httpPort: number, metricsPort: number | undefined, consoleUrl: string | undefined): void {
  const host = config.server.host;
  const app = config.apps[0];
  if (!app) return;
  // The demo credentials are public constants, so printing them reveals nothing.
  process.stderr.write(
    [
      '',
      'Herald is running with the embedded demo app (no config file, no Redis).',
      `  HTTP API + WebSocket  http://${host}:${httpPort}   ws://${host}:${httpPort}/app/${app.key}`,
      `  metrics               ${metricsPort === undefined ? 'disabled' : `http://${config.metrics.host}:${metricsPort}/metrics`}`,
      `  app id / key / secret ${app.id} / ${app.key} / ${app.secret}`,
      // The token sits in the fragment, which the browser never sends to the server.
      ...(consoleUrl ? [`  debug console         ${consoleUrl}`, '  APNs                  dry run: pushes are answered delivered, nothing is sent'] : []),
      '',
    ].join('\n') + '\n',
  );
}
