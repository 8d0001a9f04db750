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
}

export function createLogger(options: LoggerOptions): Logger {
  const pretty = options.format === 'pretty' || (options.format === 'auto' && process.stdout.isTTY === true && !options.destination);
  const base = {
    level: options.level,
    base: { service: 'herald' },
    redact: { paths: redactPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'service' } } });
  }
  return options.destination ? pino(base, options.destination as pino.DestinationStream) : pino(base);
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
