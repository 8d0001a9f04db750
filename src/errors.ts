/**
 * One error class for the whole daemon. Expected failures (a rejected push, a bad
 * subscription) are values, not exceptions; HeraldError is for broken input at
 * start-up, broken infrastructure and bugs.
 */
export const ErrorCodes = {
  HERALD_CONFIG_INVALID: 'configuration is invalid',
  HERALD_CONFIG_UNREADABLE: 'configuration file cannot be read',
  HERALD_CREDENTIALS_INVALID: 'APNs credentials cannot be used',
  HERALD_NOTIFICATION_INVALID: 'notification is invalid',
  HERALD_REDIS_UNAVAILABLE: 'Redis is unavailable',
  HERALD_SHUTTING_DOWN: 'the service is shutting down',
  HERALD_INTERNAL: 'internal error',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class HeraldError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ErrorCodes[code], options);
    this.name = 'HeraldError';
    this.code = code;
  }
}

export function isHeraldError(err: unknown, code?: ErrorCode): err is HeraldError {
  return err instanceof HeraldError && (code === undefined || err.code === code);
}

/**
 * Runs `run` on every item, collecting the messages of the HeraldErrors it throws so
 * that one start-up or reload names every problem at once; any other error (a bug) is
 * thrown as it is.
 */
export function collectProblems<T, R>(items: Iterable<T>, run: (item: T) => R): { results: R[]; problems: string[] } {
  const results: R[] = [];
  const problems: string[] = [];
  for (const item of items) {
    try {
      results.push(run(item));
    } catch (err) {
      if (!(err instanceof HeraldError)) throw err;
      problems.push(err.message);
    }
  }
  return { results, problems };
}
