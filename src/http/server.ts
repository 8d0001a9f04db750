import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { App, AppStore } from '../apps/app-store.js';
import type { Logger } from '../log/logger.js';
import { MAX_JSON_DEPTH, rawJsonTooDeep } from '../lib/json-depth.js';
import type { Service } from '../lib/service.js';
import type { Metrics } from '../metrics/metrics.js';
import { isRedisUnavailable } from '../redis/redis-errors.js';
import { authenticateRequestLine } from './authenticate.js';
import { RequestMetrics } from './request-metrics.js';
import { verifyBodyMd5 } from './pusher-signature.js';
import type { QueryParams } from '../lib/pusher-signing.js';
import type { SignedParams } from './pusher-signature.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The raw request body, kept for body_md5 verification. */
    rawBody?: Buffer;
    /** The app of a signed `/apps/{id}/...` request, set once its signature verified. */
    heraldApp?: App;
    /** The signed query parameters (lower-case names, each once); the body is checked against their body_md5. */
    heraldParams?: SignedParams;
  }
}

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
export type RouteModule = (server: FastifyInstance, helpers: RouteHelpers) => void;

export interface RouteHelpers {
  /** The verified app of a signed request; only valid inside routes registered under `/apps/:appId/`. */
  appOf(request: FastifyRequest): App;
}

export interface HttpServerOptions {
  host: string;
  port: number;
  maxBodyBytes: number;
  apps: AppStore;
  log: Logger;
  metrics: Metrics;
  /** Slow-client bounds (server.headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs); the config defaults when absent. */
  timeouts?: HttpTimeouts;
}

export interface HttpTimeouts {
  headersMs: number;
  requestMs: number;
  keepAliveMs: number;
}

const defaultTimeouts: HttpTimeouts = { headersMs: 10_000, requestMs: 30_000, keepAliveMs: 72_000 };

/**
 * The HTTP API and WebSocket listener on server.port. Routes under `/apps/:appId/`
 * are Pusher-signed; modules add their routes and the gateway claims upgrades.
 */
export class HttpServer implements Service {
  readonly name = 'http';
  readonly fastify: FastifyInstance;
  private upgradeHandler: UpgradeHandler | undefined;
  private boundPort = 0;

  constructor(private readonly options: HttpServerOptions) {
    const timeouts = options.timeouts ?? defaultTimeouts;
    this.fastify = Fastify({
      logger: false,
      bodyLimit: options.maxBodyBytes,
      // fastify's defaults leave a request without any time limit (requestTimeout 0): a client
      // trickling its body would hold the socket forever. Node checks these on an interval,
      // so a slow client is answered 408 within about a second of its deadline.
      requestTimeout: timeouts.requestMs,
      keepAliveTimeout: timeouts.keepAliveMs,
      http: { headersTimeout: timeouts.headersMs, connectionsCheckingInterval: 1000 },
      genReqId: () => randomUUID(),
      // Clients that build `host/` + `/apps/…` send `//apps/…`, and nginx merges such slashes
      // by default: route them as one (the signature check accepts both paths, see authenticate.ts).
      routerOptions: { maxParamLength: 512, ignoreDuplicateSlashes: true },
      return503OnClosing: true,
      forceCloseConnections: true,
    });
    this.installParsers();
    this.installHooks();
    this.fastify.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (this.upgradeHandler) this.upgradeHandler(req, socket, head);
      else socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
    });
  }

  get port(): number {
    return this.boundPort;
  }

  onUpgrade(handler: UpgradeHandler): void {
    this.upgradeHandler = handler;
  }

  addRoutes(module: RouteModule): void {
    const helpers: RouteHelpers = {
      appOf: (request) => {
        if (!request.heraldApp) throw new Error('appOf used on a route without signature verification');
        return request.heraldApp;
      },
    };
    module(this.fastify, helpers);
  }

  async start(): Promise<void> {
    await this.fastify.listen({ host: this.options.host, port: this.options.port });
    const address = this.fastify.server.address();
    this.boundPort = typeof address === 'object' && address ? address.port : this.options.port;
  }

  async stop(deadline: AbortSignal): Promise<void> {
    const closing = this.fastify.close();
    await Promise.race([closing, new Promise<void>((resolve) => deadline.addEventListener('abort', () => resolve(), { once: true }))]);
  }

  private installParsers(): void {
    this.fastify.removeAllContentTypeParsers();
    this.fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
      const raw = body as Buffer;
      request.rawBody = raw;
      const refused = bodyRefusal(request, raw);
      if (refused) {
        done(refused, undefined);
        return;
      }
      if (raw.length === 0) {
        done(null, {});
        return;
      }
      // Scanned before parsing: a body nested thousands deep parses, but throws wherever it is serialised next.
      const deep = rawJsonTooDeep(raw, MAX_JSON_DEPTH);
      if (deep) {
        this.options.metrics.inputLimitRefusals.inc({ reason: 'json_depth', type: 'http' });
        done(Object.assign(new Error(`Request body nests deeper than ${MAX_JSON_DEPTH} levels of objects and arrays`), { statusCode: 400, path: deep.path }), undefined);
        return;
      }
      try {
        done(null, JSON.parse(raw.toString('utf8')) as unknown);
      } catch {
        done(Object.assign(new Error('Request body is not valid JSON'), { statusCode: 400 }), undefined);
      }
    });
    this.fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
      const raw = body as Buffer;
      request.rawBody = raw;
      const refused = bodyRefusal(request, raw);
      if (refused) done(refused, undefined);
      else if (raw.length === 0) done(null, undefined);
      else done(Object.assign(new Error('Content-Type must be application/json'), { statusCode: 415 }), undefined);
    });
  }

  private installHooks(): void {
    const { apps, log, metrics } = this.options;

    // Signed routes are authenticated on the request line, before fastify reads the body:
    // a refused request (unknown app, unsigned, forged) costs no buffering, and the
    // connection is closed so its body is not drained either.
    // Both hooks take fastify's callback (no promise and microtask per request); fastify
    // catches what they throw and answers it through the error handler.
    this.fastify.addHook('onRequest', (request, reply, done) => {
      const appId = (request.params as Record<string, string> | undefined)?.appId;
      if (appId === undefined || !request.routeOptions.url?.startsWith('/apps/:appId')) {
        done();
        return;
      }
      const result = authenticateRequestLine({ method: request.method, url: request.url, appId, query: request.query as QueryParams, headers: request.headers }, apps);
      if (!result.ok) {
        if (result.status === 401) log.debug({ reqId: request.id, app: result.app?.id, route: request.routeOptions.url, error: result.error }, 'request signature refused');
        reply.header('connection', 'close');
        // Answered here: `done` is not called, so no later hook or handler runs.
        sendError(reply, result.status, result.error);
        return;
      }
      request.heraldApp = result.app;
      request.heraldParams = result.params;
      // Routes read parameters the way they were signed (lower-case names, each once).
      request.query = result.params;
      done();
    });

    const requestMetrics = new RequestMetrics(metrics);
    this.fastify.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? 'unmatched';
      const elapsedMs = reply.elapsedTime;
      requestMetrics.record(route, request.method, reply.statusCode, elapsedMs / 1000);
      const level = reply.statusCode >= 500 ? 'error' : 'debug';
      // The line's fields are only gathered when it is written: at info, every request would build them for nothing.
      if (log.isLevelEnabled(level)) log[level]({ reqId: request.id, app: request.heraldApp?.id, method: request.method, route, status: reply.statusCode, ms: Math.round(elapsedMs) }, 'http request');
      done();
    });

    this.fastify.setNotFoundHandler((request, reply) => sendError(reply, 404, `No route for ${request.method} ${request.url.split('?', 1)[0]}`));

    this.fastify.setErrorHandler((err: Error & { statusCode?: number; code?: string; path?: string }, request, reply) => {
      // Not a bug: Redis is down or failing over. The client may try again; the outage itself is logged by the connections.
      if (isRedisUnavailable(err)) {
        log.warn({ reqId: request.id, route: request.routeOptions.url, message: err.message }, 'request failed: Redis is unavailable');
        return sendRedisUnavailable(reply, 'Redis is unavailable; try again');
      }
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
      if (status >= 500) log.error({ reqId: request.id, err }, 'http handler failed');
      const message =
        err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? 'Request body is larger than the limit'
          : status >= 500
            ? 'Internal server error'
            : err.message;
      return sendError(reply, status, message, status < 500 && typeof err.path === 'string' ? { path: err.path } : {});
    });
  }
}

/** A signed request's body against its body_md5, before it is parsed. */
function bodyRefusal(request: FastifyRequest, raw: Buffer): (Error & { statusCode: number }) | undefined {
  if (!request.heraldParams) return undefined;
  const checked = verifyBodyMd5(request.heraldParams, raw);
  return checked.ok ? undefined : Object.assign(new Error(checked.error), { statusCode: checked.status });
}

/** 503 with `code: HERALD_REDIS_UNAVAILABLE`, so clients can tell an outage from a refusal. */
export function sendRedisUnavailable(reply: FastifyReply, error: string, extra: Record<string, unknown> = {}): FastifyReply {
  return sendError(reply, 503, error, { code: 'HERALD_REDIS_UNAVAILABLE', ...extra });
}

/** Every error answer has the same shape: `{"error": "..."}` plus optional details. */
export function sendError(reply: FastifyReply, status: number, error: string, extra: Record<string, unknown> = {}): FastifyReply {
  return reply.code(status).type('application/json').send({ error, ...extra });
}
