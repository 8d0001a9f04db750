import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { HeraldError } from '../errors.js';

export interface ConsoleAccessConfig {
  enabled?: boolean | undefined;
  token?: string | undefined;
  tokenFile?: string | undefined;
}

export interface ConsoleAccess {
  readonly enabled: boolean;
  /** Set when Herald made the token up (the demo on loopback): the banner prints it, nothing logs it. */
  readonly generated: boolean;
  check(given: string | undefined): boolean;
  /** Only for the start-up banner of the demo. */
  readonly token: string;
}

/**
 * Who may use the console: the bearer of `console.token` (or the token file's content).
 * The embedded demo on loopback gets a random token unless one is configured.
 */
export function consoleAccess(config: ConsoleAccessConfig, demoOnLoopback: boolean): ConsoleAccess {
  const enabled = config.enabled ?? demoOnLoopback;
  let token = config.token;
  if (config.tokenFile !== undefined) {
    try {
      token = readFileSync(config.tokenFile, 'utf8').trim();
    } catch (err) {
      throw new HeraldError('HERALD_CONFIG_INVALID', `console.tokenFile: cannot read ${config.tokenFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  const generated = enabled && token === undefined && demoOnLoopback;
  if (generated) token = randomBytes(18).toString('base64url');
  if (enabled && (token === undefined || token.length < 16)) {
    throw new HeraldError('HERALD_CONFIG_INVALID', 'console.enabled needs console.token or console.tokenFile (HERALD_CONSOLE_TOKEN), at least 16 characters');
  }
  // Compared as digests: equal lengths for timingSafeEqual, and no early exit on a length mismatch.
  const expected = createHash('sha256').update(token ?? '').digest();
  return {
    enabled,
    generated,
    token: token ?? '',
    check: (given) => enabled && given !== undefined && timingSafeEqual(createHash('sha256').update(given).digest(), expected),
  };
}
