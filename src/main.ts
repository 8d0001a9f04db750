import { SwappableAppStore } from './apps/app-store.js';
import type { HeraldConfig } from './config/load.js';
import { DEMO_APP } from './config/schema.js';
import { EventBus } from './events.js';
import { MemoryStatusStore } from './notifications/status/memory-status-store.js';
import { NotificationPipeline } from './notifications/notification-pipeline.js';
import type { QueueFactory } from './queue/queue-driver.js';
import { RedisStatusStore } from './notifications/status/redis-status-store.js';
import { partitionPrefix } from './notifications/contract/partitions.js';
import { MAX_DEAD_LETTERS } from './webhooks/dead-letter-store.js';
import { MemoryDeadLetterStore } from './webhooks/memory-dead-letter-store.js';
import { RedisDeadLetterStore } from './webhooks/redis-dead-letter-store.js';
import { deadLetterRoutes } from './http/routes/dead-letters.js';
import { webhookQueueSettings } from './webhooks/webhook-queue.js';
import { WebhookService } from './webhooks/webhook-service.js';
import { BullmqQueueDriver } from './queue/bullmq-queue-driver.js';
import { MemoryQueueDriver } from './queue/memory-queue-driver.js';
import { Readiness } from './http/readiness.js';
import { LocalAdapter } from './gateway/adapter/local-adapter.js';
import { RedisAdapter } from './gateway/adapter/redis-adapter.js';
import { createNodeId } from './gateway/node-id.js';
import { GatewayPublisher } from './gateway/publisher.js';
import { MemoryChannelCache } from './gateway/state/memory-channel-cache.js';
import { MemoryChannelState } from './gateway/state/memory-channel-state.js';
import { RedisChannelCache } from './gateway/state/redis/redis-channel-cache.js';
import { RedisChannelState } from './gateway/state/redis/redis-channel-state.js';
import { redisConfigured } from './redis/redis-client.js';
import { RedisConnections } from './redis/redis-connections.js';
import { WsGateway } from './gateway/ws-gateway.js';
import { channelRoutes } from './http/routes/channels.js';
import { eventRoutes } from './http/routes/events.js';
import { userRoutes } from './http/routes/users.js';
import { healthRoutes } from './http/routes/health.js';
import { openApiRoutes } from './http/routes/openapi.js';
import { notificationRoutes } from './http/routes/notifications.js';
import { refusalOf } from './gateway/publish-validation.js';
import { HttpServer } from './http/server.js';
import { deadlineAfter, sleep } from './lib/deadline.js';
import type { Service } from './lib/service.js';
import { version } from './lib/version.js';
import type { Logger } from './log/logger.js';
import { MetricsServer } from './metrics/metrics-server.js';
import { createMetrics } from './metrics/metrics.js';
import { ApnsProvider } from './providers/apns/apns-provider.js';
import { ConfigReloader } from './reload/config-reloader.js';
import type { ReloadOutcome } from './reload/config-reloader.js';
import { DryRunProvider } from './providers/dry-run-provider.js';
import type { Provider } from './providers/provider.js';
import { ProviderRouter } from './providers/provider-router.js';
import { ProviderSet } from './providers/provider-set.js';
import { FcmProvider } from './providers/fcm/fcm-provider.js';
import { WebPushProvider } from './providers/webpush/webpush-provider.js';
import { consoleAccess } from './console/console-access.js';
import { ConsoleFeed } from './console/console-feed.js';
import { observedProvider } from './console/observed-provider.js';
import { RedisConsoleRelay } from './console/redis-console-relay.js';
import { consoleRoutes } from './http/routes/console.js';
import type { DeviceRegistry } from './devices/device-registry.js';
import { MemoryDeviceRegistry } from './devices/memory-device-registry.js';
import { RedisDeviceRegistry } from './devices/redis-device-registry.js';
import { PruneInvalidTokens } from './devices/prune-invalid-tokens.js';
import { deviceRoutes } from './http/routes/devices.js';

export interface RunningHerald {
  readonly httpPort: number;
  readonly metricsPort: number | undefined;
  /** The debug console's address with its token in the fragment, when Herald made the token up (the demo). */
  readonly consoleUrl: string | undefined;
  /** Stops services in reverse order of start, each bounded by the grace period. */
  stop(graceMs?: number): Promise<void>;
  /** Re-reads the configuration with `load` and applies its apps (SIGHUP; docs/runbook.md). */
  reload(load: () => HeraldConfig): ReloadOutcome;
}

/** The composition root: the only place that picks implementations and wires them together. */
export async function startHerald(config: HeraldConfig, log: Logger): Promise<RunningHerald> {
  const metrics = createMetrics();
  metrics.buildInfo.set({ version }, 1);
  const events = new EventBus((event, err) => log.error({ event, err }, 'event subscriber failed'));
  const apps = new SwappableAppStore(config.apps);
  const readiness = new Readiness();

  const http = new HttpServer({
    host: config.server.host,
    port: config.server.port,
    maxBodyBytes: config.server.maxBodyBytes,
    timeouts: {
      headersMs: config.server.headersTimeoutMs,
      requestMs: config.server.requestTimeoutMs,
      keepAliveMs: config.server.keepAliveTimeoutMs,
    },
    apps,
    log: log.child({ module: 'http' }),
    metrics,
  });
  http.addRoutes(healthRoutes(readiness));
  http.addRoutes(openApiRoutes());

  // Every Redis connection (gateway, queues, stores) is made here, in the configured shape (docs/scaling.md).
  const redis = redisConfigured(config.redis) ? new RedisConnections({ config: config.redis, log, metrics }) : undefined;
  if (redis) readiness.register('redis', () => redis.health());

  // Every queue (notifications, chunks, webhooks) is of one kind: BullMQ with Redis, in-process without.
  const createQueue: QueueFactory = (settings) =>
    redis
      ? new BullmqQueueDriver({
          ...settings,
          connect: redis.connector(settings.partition ? `${settings.name}-p${settings.partition}` : settings.name),
          prefix: partitionPrefix(config.queue.prefix, settings.partition ?? 0, config.queue.partitions),
          lockDurationMs: config.queue.lockDurationMs,
          onEnqueueFailed: (reason) => metrics.queueEnqueueFailures.inc({ queue: settings.name, reason }),
        })
      : new MemoryQueueDriver(settings);

  // Webhooks: their queue and dead-letter list.
  const webhookLog = log.child({ module: 'webhooks' });
  const webhookQueue = createQueue(webhookQueueSettings(config.webhooks, webhookLog));
  const deadLetterLimits = { maxEntries: MAX_DEAD_LETTERS, maxBytes: config.webhooks.deadLetterMaxBytes };
  const deadLetters = redis
    ? new RedisDeadLetterStore(redis.create('webhook-dead-letters'), config.queue.prefix, deadLetterLimits)
    : new MemoryDeadLetterStore(deadLetterLimits);
  const webhooks = new WebhookService({ apps, events, queue: webhookQueue, deadLetters, settings: config.webhooks, log: webhookLog, metrics });
  http.addRoutes(deadLetterRoutes(webhooks));

  const nodeId = createNodeId();
  const gatewayLog = log.child({ module: 'gateway' });
  // With Redis, fanout, presence and the cache are shared so every process acts as one (docs/scaling.md).
  const onHandlerError = (err: unknown): void => gatewayLog.error({ err }, 'fanout handler failed');
  const { keyPrefix } = config.redis;
  const adapter = redis
    ? new RedisAdapter({ publisher: redis.create('fanout-pub'), subscriber: redis.create('fanout-sub', 'subscriber'), keyPrefix, nodeId, log: gatewayLog, metrics, onHandlerError })
    : new LocalAdapter({ onHandlerError });
  const stateClient = redis?.create('gateway-state');
  const channelState = stateClient
    ? new RedisChannelState({ client: stateClient, keyPrefix, nodeId, nodeTimeoutSeconds: config.gateway.nodeTimeoutSeconds, log: gatewayLog })
    : new MemoryChannelState();
  const channelCache = stateClient ? new RedisChannelCache({ client: stateClient, keyPrefix }) : new MemoryChannelCache();
  const gateway = new WsGateway({
    apps,
    adapter,
    state: channelState,
    cache: channelCache,
    events,
    log: gatewayLog,
    metrics,
    config: config.gateway,
    nodeId,
  });
  const publisher = new GatewayPublisher({ adapter, cache: channelCache, metrics, log: gatewayLog, cacheTtlSeconds: config.gateway.cacheTtlSeconds });
  http.onUpgrade(gateway.handleUpgrade);
  http.addRoutes(eventRoutes({ publisher, state: channelState }));
  http.addRoutes(channelRoutes({ state: channelState, cache: channelCache }));
  http.addRoutes(userRoutes(publisher));

  // APNs: credentials are opened and checked at start-up; connections open on the first push.
  const dryRunApps = config.apps.filter((app) => app.apns?.dryRun).map((app) => app.id);
  const apnsApps = config.apps.filter((app) => app.apns && !app.apns.dryRun);
  // Made even when no app sends through APNs, so a reload can add one (docs/runbook.md).
  // Waits longer than a second (a retry-after) go back to the queue, so a chunk holds no worker slot meanwhile.
  const apnsProvider = new ApnsProvider({ apps: apnsApps, log: log.child({ module: 'apns' }), metrics, events, retry: { maxInlineWaitMs: 1_000 } });
  // One app's refused credentials are a warning, not unreadiness: every pod would leave the Service for one tenant.
  readiness.registerWarnings('apns', () => apnsProvider.refusedCredentials());
  // FCM and Web Push, made like APNs even when no app uses them (then they open nothing and run no timer), so a reload
  // can add the first one. A key that cannot be loaded stops start-up; one refused by Google or the push services is a
  // warning naming the app in /ready, and the process stays ready.
  const fcmProvider = new FcmProvider({ apps: config.apps, log: log.child({ module: 'fcm' }), metrics, events, retry: { maxInlineWaitMs: 1_000 } });
  readiness.registerWarnings('fcm', () => fcmProvider.refusedCredentials());
  const webPushProvider = new WebPushProvider({ apps: config.apps, log: log.child({ module: 'webpush' }), metrics, events, retry: { maxInlineWaitMs: 1_000 } });
  readiness.registerWarnings('webpush', () => webPushProvider.refusedCredentials());

  if (dryRunApps.length > 0) log.warn({ apps: dryRunApps }, 'apns dryRun: these apps answer every push delivered and send nothing to APNs');

  // The debug console (docs/console.md): off unless enabled, or the embedded demo on loopback.
  const access = consoleAccess(config.console, config.demo && loopback.test(config.server.host));
  const consoleFeed = access.enabled
    ? new ConsoleFeed({
        events,
        adapter,
        relay: redis ? new RedisConsoleRelay({ publisher: redis.create('console-pub'), subscriber: redis.create('console-sub', 'subscriber'), keyPrefix, log }) : undefined,
        nodeId,
        bufferSize: config.console.bufferSize,
        metrics,
      })
    : undefined;
  const providers: Provider[] = [apnsProvider, ...(dryRunApps.length > 0 ? [new DryRunProvider(dryRunApps)] : [])];
  const routed = providers.length > 1 ? new ProviderRouter(providers) : providers[0];
  const observed = (p: Provider): Provider => (consoleFeed ? observedProvider(p, (kind, batch, result) => consoleFeed.pushResult(kind, batch, result)) : p);
  const provider = routed && observed(routed);
  // Every platform's provider by kind, for the pipeline to send each device through its own; `provider` above stays APNs'.
  const providerSet = new ProviderSet([...(provider ? [provider] : []), observed(fcmProvider), observed(webPushProvider)]);

  // Devices (users, interests → tokens): in Redis with Redis, in-process without; the pipeline resolves to.users/to.interests here.
  const devices: DeviceRegistry = redis ? new RedisDeviceRegistry(redis.create('devices'), config.redis.keyPrefix) : new MemoryDeviceRegistry();
  const deviceLog = log.child({ module: 'devices' });
  http.addRoutes(deviceRoutes({ registry: devices, log: deviceLog }));
  const devicePruning = new PruneInvalidTokens({ events, registry: devices, metrics, log: deviceLog });

  // Notifications: a Redis status store with Redis, an in-process one without.
  const statusStore = redis
    ? new RedisStatusStore(redis.create('notification-status'), { keyPrefix: config.redis.keyPrefix, queuePrefix: config.queue.prefix, partitions: config.queue.partitions }, config.queue.statusRetentionSeconds)
    : new MemoryStatusStore(config.queue.statusRetentionSeconds);
  const notifications = new NotificationPipeline({
    queue: config.queue,
    apps,
    events,
    metrics,
    log: log.child({ module: 'notifications' }),
    publisher,
    checkRealtime: refusalOf,
    provider,
    providers: providerSet,
    store: statusStore,
    createQueue,
    devices,
    presence: gateway.signins,
  });
  http.addRoutes(notificationRoutes({ service: notifications.service, maxNotificationBytes: config.queue.maxNotificationBytes, log: log.child({ module: 'notifications' }) }));
  readiness.register('queue', () => notifications.worker.health());
  if (consoleFeed) {
    http.addRoutes(
      consoleRoutes({
        access,
        feed: consoleFeed,
        apps,
        publisher,
        state: channelState,
        notifications: notifications.service,
        limits: { maxEventsPerSecond: config.console.maxEventsPerSecond, maxBufferedBytes: config.console.maxBufferedBytes },
        metrics,
        stats: async () => {
          await notifications.worker.collectMetrics().catch(() => undefined);
          const values = async (metric: { get(): Promise<{ values: Array<{ labels: object; value: number }> }> }) => (await metric.get()).values.map((v) => ({ ...v.labels, value: v.value }));
          const providers = apps.all().map((app) => ({ app: app.id, providers: providerSet.health(app.id) }));
          return { queues: await values(metrics.queueJobs), apnsSessions: await values(metrics.apnsSessions), pushInFlight: await values(metrics.pushInFlight), providers };
        },
      }),
    );
  }

  const metricsServer = config.metrics.enabled
    ? new MetricsServer({
        host: config.metrics.host,
        port: config.metrics.port,
        metrics,
        onScrape: async () => {
          await notifications.worker.collectMetrics().catch((err: unknown) => log.warn({ err }, 'queue metrics unavailable'));
          await webhooks.collectMetrics().catch((err: unknown) => webhookLog.warn({ err }, 'webhook queue metrics unavailable'));
          metrics.ready.set(readiness.report().ready ? 1 : 0);
        },
      })
    : undefined;

  // The gateway comes after http so it stops first: sockets get 4200 before the listener closes.
  // Webhooks start before the gateway and stop after it, so its last channel events are still sent.
  // Redis connections come up before, and close after, everything that uses them.
  const services: Service[] = [...(metricsServer ? [metricsServer] : []), ...(redis ? [redis] : []), devices, devicePruning, apnsProvider, fcmProvider, webPushProvider, deadLetters, webhookQueue, webhooks, adapter, ...(consoleFeed ? [consoleFeed] : []), channelState, channelCache, ...notifications.services, http, gateway];
  const started: Service[] = [];
  try {
    for (const service of services) {
      await service.start();
      started.push(service);
    }
  } catch (err) {
    await stopAll(started, deadlineAfter(config.server.shutdownGraceMs), log);
    throw err;
  }

  warnAboutDemoCredentials(config, log);
  // An access token for every FCM app now, not at the first push: a refused service account is named in /ready at once.
  void fcmProvider.probeCredentials().catch((err: unknown) => log.warn({ err }, 'fcm credentials probe failed'));
  log.info(
    {
      http: `http://${config.server.host}:${http.port}`,
      websocket: `ws://${config.server.host}:${http.port}/app/{key}`,
      metrics: metricsServer ? `http://${config.metrics.host}:${metricsServer.port}/metrics` : 'disabled',
      httpPort: http.port,
      metricsPort: metricsServer?.port,
      mode: redis ? 'redis' : 'embedded',
      ...(redis ? { redisMode: config.redis.mode } : {}),
      apps: config.apps.map((app) => app.id),
      version,
    },
    'listening',
  );

  // SIGHUP: the apps and their APNs, FCM and Web Push credentials change at runtime; everything else needs a restart.
  const reloadTargets = {
    apps,
    providers: [
      { prepareReload: (next: HeraldConfig['apps']) => apnsProvider.prepareReload(next.filter((app) => app.apns && !app.apns.dryRun)) },
      fcmProvider,
      webPushProvider,
    ],
    closeApp: gateway.closeApp.bind(gateway),
  };
  const reloader = new ConfigReloader({ initial: config, targets: reloadTargets, log, metrics });
  let stopping: Promise<void> | undefined;
  return {
    reload: (load) => reloader.reload(load),
    httpPort: http.port,
    metricsPort: metricsServer?.port,
    consoleUrl: access.enabled && access.generated ? `http://${config.server.host}:${http.port}/console#token=${access.token}` : undefined,
    stop(graceMs = config.server.shutdownGraceMs) {
      stopping ??= (async () => {
        readiness.markDraining();
        // Let load balancers see /ready fail before listeners close.
        if (config.server.drainDelayMs > 0) await sleep(config.server.drainDelayMs);
        await stopAll(started, deadlineAfter(graceMs), log);
      })();
      return stopping;
    },
  };
}

async function stopAll(services: readonly Service[], deadline: AbortSignal, log: Logger): Promise<void> {
  for (const service of [...services].reverse()) {
    try {
      await service.stop(deadline);
      log.debug({ service: service.name }, 'service stopped');
    } catch (err) {
      log.error({ service: service.name, err }, 'service failed to stop cleanly');
    }
  }
}

const loopback = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

function warnAboutDemoCredentials(config: HeraldConfig, log: Logger): void {
  const exposed = !loopback.test(config.server.host);
  const demoApps = config.apps.filter((app) => app.secret === DEMO_APP.secret || app.key === DEMO_APP.key);
  if (exposed && demoApps.length > 0) {
    log.warn(
      { host: config.server.host, apps: demoApps.map((app) => app.id) },
      '!!! DEMO CREDENTIALS ON A NON-LOOPBACK ADDRESS: anyone who can reach this port can publish and subscribe. Configure apps[] with real secrets. !!!',
    );
  }
}
