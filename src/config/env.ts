/** HERALD_* environment variables and the config key each overrides. */
export interface EnvBinding {
  env: string;
  path: readonly string[];
  kind: 'string' | 'port' | 'int';
  /** Secrets may also come from `${env}_FILE`. */
  secret?: boolean;
}

export const envBindings: readonly EnvBinding[] = [
  { env: 'HERALD_HOST', path: ['server', 'host'], kind: 'string' },
  { env: 'HERALD_PORT', path: ['server', 'port'], kind: 'port' },
  { env: 'HERALD_METRICS_HOST', path: ['metrics', 'host'], kind: 'string' },
  { env: 'HERALD_METRICS_PORT', path: ['metrics', 'port'], kind: 'port' },
  { env: 'HERALD_REDIS_URL', path: ['redis', 'url'], kind: 'string', secret: true },
  { env: 'HERALD_QUEUE_PREFIX', path: ['queue', 'prefix'], kind: 'string' },
  { env: 'HERALD_QUEUE_CONCURRENCY', path: ['queue', 'concurrency'], kind: 'int' },
  { env: 'HERALD_LOG_LEVEL', path: ['log', 'level'], kind: 'string' },
  { env: 'HERALD_LOG_FORMAT', path: ['log', 'format'], kind: 'string' },
  { env: 'HERALD_SHUTDOWN_GRACE_MS', path: ['server', 'shutdownGraceMs'], kind: 'int' },
];

/** The single-app shortcut: all three (secret possibly as _FILE) or none. */
export const appEnv = { id: 'HERALD_APP_ID', key: 'HERALD_APP_KEY', secret: 'HERALD_APP_SECRET' } as const;
