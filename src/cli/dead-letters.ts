import { parseArgs } from 'node:util';
import { HeraldClientError } from '../client/client-error.js';
import { signedRequest } from '../client/signed-request.js';
import { loadConfig } from '../config/load.js';
import { redactUrl } from '../config/redact.js';
import type { HeraldConfig } from '../config/load.js';
import { viewOf } from '../webhooks/dead-letter-view.js';
import type { DeadLetterView } from '../webhooks/dead-letter-view.js';
import { MAX_DEAD_LETTERS } from '../webhooks/dead-letter-store.js';
import { RedisDeadLetterStore } from '../webhooks/redis-dead-letter-store.js';
import { webhookQueueSettings } from '../webhooks/webhook-queue.js';
import { replayDeadLetters } from '../webhooks/webhook-service.js';
import { isHeraldError } from '../errors.js';
import { deadlineAfter } from '../lib/deadline.js';
import { silentLogger } from '../log/logger.js';
import { BullmqQueueDriver } from '../queue/bullmq-queue-driver.js';
import { redisConfigured } from '../redis/redis-client.js';
import { RedisConnections } from '../redis/redis-connections.js';
import { resolveAppTarget } from './app-target.js';

export const deadLettersUsage = `Usage: herald webhooks dead-letters [--replay] [--app ID] [--id ID]... [options]

Lists the webhook batches whose every delivery attempt failed, or with --replay
puts them back on the webhook queue (fresh attempts; same body and signature).

  --app ID             only this app (default: every app in the configuration)
  --id ID              only this entry; repeat for several
  --replay             replay instead of listing
  --json               print JSON instead of text
  --config FILE        YAML or JSON configuration (also HERALD_CONFIG)

Where the list lives:
  With Redis configured (redis.url / HERALD_REDIS_URL, or redis.mode sentinel or
  cluster), the list is a Redis list shared by every Herald process; this command
  reads and replays it directly in Redis, connecting as the daemon does.
  In the embedded default (no Redis) the list lives inside the running Herald
  process and ends with it; this command then asks that process over its signed
  HTTP API (GET /apps/{id}/webhooks/dead-letters, POST .../replay):
  --url URL            Herald's HTTP API (default: HERALD_URL, else server.host:port of the config);
                       giving --url also forces HTTP when Redis is configured
  --key K --secret S   the app's credentials (default: HERALD_APP_KEY / HERALD_APP_SECRET, else the config)

Exit status: 0 done, 1 Herald or Redis unreachable or refused, 2 bad arguments.`;

const options = {
  app: { type: 'string' },
  id: { type: 'string', multiple: true },
  replay: { type: 'boolean' },
  json: { type: 'boolean' },
  config: { type: 'string', short: 'c' },
  url: { type: 'string' },
  key: { type: 'string' },
  secret: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ args: string[]; options: typeof options; strict: true }>>['values'];

interface AppResult {
  app: string;
  deadLetters?: DeadLetterView[];
  /** Total in the list, when more were listed than shown. */
  count?: number;
  replayed?: string[];
}

/** `herald webhooks <subcommand>`; today only `dead-letters`. */
export async function runWebhooks(args: string[]): Promise<number> {
  const [subcommand, ...rest] = args;
  if (subcommand === undefined || subcommand === '--help' || subcommand === '-h' || subcommand === 'help') {
    console.log(deadLettersUsage);
    return subcommand === undefined ? 2 : 0;
  }
  if (subcommand !== 'dead-letters') {
    console.error(`herald webhooks: unknown subcommand '${subcommand}'\n\n${deadLettersUsage}`);
    return 2;
  }
  return runDeadLetters(rest);
}

export async function runDeadLetters(args: string[]): Promise<number> {
  let values: Values;
  try {
    values = parseArgs({ args, options, strict: true }).values;
  } catch (err) {
    return usageError((err as Error).message);
  }
  if (values.help) {
    console.log(deadLettersUsage);
    return 0;
  }
  if (values.key !== undefined && values.app === undefined) return usageError('--key and --secret belong to one app: give --app too');
  let config: HeraldConfig | undefined;
  const needsConfig = values.url === undefined || values.app === undefined || values.key === undefined;
  if (needsConfig) {
    try {
      config = loadConfig({ file: values.config });
    } catch (err) {
      if (isHeraldError(err)) return usageError(err.message);
      throw err;
    }
  }
  const appIds = values.app !== undefined ? [values.app] : (config?.apps.map((app) => app.id) ?? []);
  if (config && values.app !== undefined && !config.apps.some((app) => app.id === values.app) && values.key === undefined) {
    return usageError(`app '${values.app}' is not in the configuration (${config.source}); give --key and --secret, or --config with that app`);
  }
  try {
    const results =
      values.url === undefined && config !== undefined && redisConfigured(config.redis)
        ? await viaRedis(config, appIds, values)
        : await viaHttp(appIds, values);
    if (typeof results === 'number') return results;
    print(results, values.json === true);
    return 0;
  } catch (err) {
    if (err instanceof HeraldClientError) {
      console.error(`herald webhooks dead-letters: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

async function viaHttp(appIds: readonly string[], values: Values): Promise<AppResult[] | number> {
  const results: AppResult[] = [];
  for (const app of appIds) {
    const resolved = resolveAppTarget({ app, url: values.url, key: values.key, secret: values.secret, config: values.config });
    if (!resolved.ok) return usageError(resolved.error);
    const { target } = resolved;
    const call = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> => {
      let response;
      try {
        response = await signedRequest(target.url, target, method, path, body === undefined ? {} : { body });
      } catch (err) {
        throw new HeraldClientError(
          'unavailable',
          `cannot reach Herald at ${new URL(target.url).origin} (${describe(err)}). Without Redis the dead-letter list lives inside the running Herald process, so it must be running; with Redis, configure it (redis.url, or redis.mode with its nodes) to read the list directly.`,
        );
      }
      if (response.status !== 200) {
        const error = (response.body as { error?: unknown } | undefined)?.error;
        throw new HeraldClientError('unauthorized', `app ${app}: HTTP ${response.status}${typeof error === 'string' ? `: ${error}` : ''}`);
      }
      return response.body;
    };
    if (values.replay) {
      const answer = (await call('POST', '/webhooks/dead-letters/replay', values.id ? { ids: values.id } : {})) as { ids?: string[] };
      results.push({ app, replayed: answer.ids ?? [] });
    } else {
      const answer = (await call('GET', '/webhooks/dead-letters')) as { count?: number; deadLetters?: DeadLetterView[] };
      const listed = (answer.deadLetters ?? []).filter((entry) => values.id === undefined || values.id.includes(entry.id));
      results.push({ app, deadLetters: listed, ...(answer.count === undefined ? {} : { count: answer.count }) });
    }
  }
  return results;
}

async function viaRedis(config: HeraldConfig, appIds: readonly string[], values: Values): Promise<AppResult[]> {
  // The daemon's own connection factory, so single, Sentinel and Cluster are reached alike.
  const redis = new RedisConnections({ config: config.redis, log: silentLogger(), connectTimeoutMs: 5_000 });
  const store = new RedisDeadLetterStore(redis.create('cli-dead-letters'), config.queue.prefix, { maxEntries: MAX_DEAD_LETTERS, maxBytes: config.webhooks.deadLetterMaxBytes });
  try {
    await redis.start();
  } catch (err) {
    await redis.stop(deadlineAfter(1_000));
    throw new HeraldClientError('unavailable', `cannot reach Redis (${describeRedis(config)}): ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    if (!values.replay) {
      return await Promise.all(
        appIds.map(async (app) => ({ app, deadLetters: (await store.list({ app, ids: values.id })).map(viewOf) })),
      );
    }
    const queue = new BullmqQueueDriver({ ...webhookQueueSettings(config.webhooks, silentLogger()), connect: redis.connector('cli-webhooks'), prefix: config.queue.prefix });
    await queue.start();
    try {
      const results: AppResult[] = [];
      for (const app of appIds) {
        const replayed = await replayDeadLetters(store, queue, { app, ids: values.id });
        results.push({ app, replayed: replayed.map((entry) => entry.id) });
      }
      return results;
    } finally {
      await queue.stop(deadlineAfter(5_000));
    }
  } finally {
    await redis.stop(deadlineAfter(2_000));
  }
}

/** Where the CLI looked for Redis, without credentials. */
function describeRedis(config: HeraldConfig): string {
  const { redis } = config;
  if (redis.mode === 'sentinel') return `sentinel ${redis.sentinelName ?? ''} via ${redis.sentinels.map((s) => `${s.host}:${s.port}`).join(', ')}`;
  if (redis.mode === 'cluster' && redis.clusterNodes.length > 0) return `cluster ${redis.clusterNodes.map((n) => `${n.host}:${n.port}`).join(', ')}`;
  return redis.url === undefined ? redis.mode : redactUrl(redis.url);
}

function print(results: readonly AppResult[], json: boolean): void {
  if (json) {
    console.log(JSON.stringify(results, null, 2));
    return;
  }
  for (const result of results) {
    if (result.replayed) {
      console.log(`app ${result.app}: replayed ${result.replayed.length} dead letter(s)${result.replayed.length ? `: ${result.replayed.join(', ')}` : ''}`);
      continue;
    }
    const entries = result.deadLetters ?? [];
    const total = result.count ?? entries.length;
    console.log(`app ${result.app}: ${total} dead letter(s)${total > entries.length ? ` (showing ${entries.length})` : ''}`);
    for (const entry of entries) {
      console.log(`  ${entry.id}  failed ${entry.failedAt} after ${entry.attempts} attempt(s): ${entry.lastError}`);
      console.log(`    to ${entry.url}  events ${entry.events.join(', ')}  created ${entry.createdAt}`);
    }
  }
}

function describe(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}

function usageError(message: string): number {
  console.error(`herald webhooks dead-letters: ${message}\n\nRun 'herald webhooks dead-letters --help' for usage.`);
  return 2;
}
