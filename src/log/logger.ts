import { createRequire } from 'node:module';
import pino from 'pino';
import type { Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Every path that can carry a secret: app secrets, key material, passphrases,
 * signatures and authorization headers. One list, so nothing logs them by accident.
 */
export const redactPaths = [
  'secret',
  '*.secret',
  '*.*.secret',
  'apps[*].secret',
  '*.apps[*].secret',
  'apps[*].apns.passphrase',
  '*.apps[*].apns.passphrase',
  'passphrase',
  '*.passphrase',
  '*.*.passphrase',
  'privateKey',
  '*.privateKey',
  'authorization',
  'headers.authorization',
  '*.headers.authorization',
  'headers["x-pusher-signature"]',
  '*.headers["x-pusher-signature"]',
  'auth_signature',
  '*.auth_signature',
  'query.auth_signature',
  '*.query.auth_signature',
  'jwt',
  '*.jwt',
];

export interface LoggerOptions {
  level: string;
  format: 'auto' | 'json' | 'pretty';
  /** Tests pass a stream to capture output. */
  destination?: NodeJS.WritableStream;
  /** Where pino-pretty is installed, if it is; tests replace the look-up. */
  findPretty?: () => string | undefined;
}

/**
 * pino-pretty is a development dependency: the image and `npm install --omit=dev` lack it,
 * so it is looked up, never imported, and its absence means JSON lines.
 */
function installedPretty(): string | undefined {
  try {
    return createRequire(import.meta.url).resolve('pino-pretty');
  } catch {
    return undefined;
  }
}

export function createLogger(options: LoggerOptions): Logger {
  const wantsPretty = options.format === 'pretty' || (options.format === 'auto' && process.stdout.isTTY === true && !options.destination);
  const prettyTarget = wantsPretty ? (options.findPretty ?? installedPretty)() : undefined;
  const base = {
    level: options.level,
    base: { service: 'herald' },
    redact: { paths: redactPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (prettyTarget) {
    return pino({ ...base, transport: { target: prettyTarget, options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'service' } } });
  }
  const log = options.destination ? pino(base, options.destination as pino.DestinationStream) : pino(base);
  // Asked for by name: say why the lines are JSON. `auto` falls back silently.
  if (wantsPretty && options.format === 'pretty') log.warn('log.format is pretty but pino-pretty is not installed (a development dependency): logging JSON lines');
  return log;
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
