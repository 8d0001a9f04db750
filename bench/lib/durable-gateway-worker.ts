/**
 * A durable gateway built as small as it can be, one layer of Herald's at a time: the
 * rungs of the durable ladder (bench/durable-ladder.bench.ts). Every rung answers 202
 * only once the notification is in Redis, and sends each token as one node:http2
 * request to the fixture, at most `maxStreams` open, like the bare gateway.
 *
 * - `floor`: fastify, nothing checked. The requests of one turn are one group; one Lua
 *   call writes the group's status records (state, createdAt) and pushes it, as one
 *   envelope, on a list. A consumer moves envelopes to a processing list (BLMOVE, 64 at
 *   once), sends them, then marks each record done and drops the envelope in one MULTI.
 * - `signature`: + the Pusher signature on the request line and body_md5 (Herald's own
 *   functions), the id from the signature (Herald's replay id).
 * - `validation`: + Herald's notification contract at intake and again where the
 *   envelope is run (parseNotification, prepareNotification), as Herald's worker does.
 * - `bullmq`: + the envelope as a BullMQ job (Queue.add, then the records: two round
 *   trips; a Worker of concurrency 64) instead of the list.
 * - `status`: + Herald's status script for the records: created at intake, started
 *   before the send, completed after.
 *
 * None of them retries, resumes a claimed envelope after a crash, keeps per-token
 * checkpoints or knows sendAt: what they leave out is the rest of what Herald does.
 */
import type { ClientHttp2Session } from 'node:http2';
import { Queue, Worker } from 'bullmq';
import Fastify from 'fastify';
import type { FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { App } from '../../src/apps/app-store.js';
import type * as SignatureExports from '../../src/http/pusher-signature.js';
import type { SignedParams } from '../../src/http/pusher-signature.js';
import type * as ReplayExports from '../../src/http/replay-id.js';
import type { QueryParams } from '../../src/lib/pusher-signing.js';
import type * as CheckExports from '../../src/notifications/check-for-app.js';
import type * as ParseExports from '../../src/notifications/contract/parse-notification.js';
import type * as ScriptExports from '../../src/notifications/status/redis-status-scripts.js';
import type * as PayloadExports from '../../src/providers/apns/payload.js';
import type { FixtureInfo } from './apns-fixture-worker.js';
import { alertHeaders, openFixtureSession } from './apns-fixture-session.js';
import { RUNGS } from './durable-rungs.js';
import type { Rung } from './durable-rungs.js';
import { serveIpc } from './ipc.js';
import { uncheckedApnsPart } from './unchecked-apns-part.js';
import { repoRoot } from './herald-spawn.js';
import { BENCH_APP } from './targets.js';


/** KEYS: the group's records, then the envelope list. ARGV: the envelope ('' when BullMQ holds it), createdAt. */
const ACCEPT_LUA = `
for i = 1, #KEYS - 1 do
  if redis.call('exists', KEYS[i]) == 0 then
    redis.call('hset', KEYS[i], 'state', 'queued', 'createdAt', ARGV[2])
    redis.call('expire', KEYS[i], 86400)
  end
end
if ARGV[1] ~= '' then redis.call('rpush', KEYS[#KEYS], ARGV[1]) end
return 1`;

const ENVELOPES_AT_ONCE = 64;
const RECORD_TTL_SECONDS = '86400';

interface Item {
  readonly id: string;
  readonly tokens: string[];
  readonly payload: unknown;
}

interface Waiting extends Item {
  resolve(): void;
  reject(err: unknown): void;
}

interface Prepared {
  readonly headers?: Readonly<Record<string, string>>;
  readonly body: Buffer | string;
}

/**
 * Herald's functions as the daemon runs them: from its build (dist/), not from src through
 * tsx, whose transform adds work to every call of a function that defines named closures.
 */
interface Build {
  readonly readSignedParams: typeof SignatureExports.readSignedParams;
  readonly verifyBodyMd5: typeof SignatureExports.verifyBodyMd5;
  readonly verifyPusherSignature: typeof SignatureExports.verifyPusherSignature;
  readonly replayId: typeof ReplayExports.replayId;
  readonly parseNotification: typeof ParseExports.parseNotification;
  readonly apnsFields: typeof CheckExports.apnsFields;
  readonly prepareNotification: typeof PayloadExports.prepareNotification;
  readonly batchScript: typeof ScriptExports.batchScript;
}

async function loadBuild(): Promise<Build> {
  const load = <T>(path: string): Promise<T> => import(pathToFileURL(join(repoRoot, 'dist/src', path)).href) as Promise<T>;
  const [signature, replay, parse, check, payload, scripts] = await Promise.all([
    load<typeof SignatureExports>('http/pusher-signature.js'),
    load<typeof ReplayExports>('http/replay-id.js'),
    load<typeof ParseExports>('notifications/contract/parse-notification.js'),
    load<typeof CheckExports>('notifications/check-for-app.js'),
    load<typeof PayloadExports>('providers/apns/payload.js'),
    load<typeof ScriptExports>('notifications/status/redis-status-scripts.js'),
  ]);
  return { ...signature, ...replay, ...parse, ...check, ...payload, ...scripts };
}

let build: Build;
let level = 0;
const at = (rung: Rung): boolean => level >= RUNGS.indexOf(rung);
const app = { ...BENCH_APP, enabled: true } as unknown as App;
const signedParams = new WeakMap<FastifyRequest, SignedParams>();

let session: ClientHttp2Session | undefined;
let topic = '';
let redis: Redis | undefined;
let blocking: Redis | undefined;
let queue: Queue | undefined;
let worker: Worker | undefined;
let nextId = 0;

// One notification of 100,000 tokens is a body of about 7 MB.
const server = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024 });

function store(): Redis {
  if (!redis) throw new Error('durable gateway not started');
  return redis;
}

const recordKey = (id: string): string => `{d}:rec:${id}`;

async function statusOps(keys: string[], ops: Array<[string, number, Array<string | number>]>): Promise<void> {
  await build.batchScript.run(store(), keys, [JSON.stringify(ops)]);
}

// --- group commit: what arrives while a group is written waits for the next one.
let group: Waiting[] = [];
let writing = false;
let flushQueued = false;

async function writeGroup(items: readonly Item[]): Promise<void> {
  const envelope = JSON.stringify(items);
  if (at('bullmq')) await queue?.add('envelope', envelope, { removeOnComplete: true, removeOnFail: true });
  if (at('status')) {
    const now = Date.now();
    await statusOps(items.map((item) => recordKey(item.id)), items.map(() => ['create', 1, ['bench', now, 1, 1, RECORD_TTL_SECONDS, 'envelope', '0']]));
    return;
  }
  await store().eval(ACCEPT_LUA, items.length + 1, ...items.map((item) => recordKey(item.id)), '{d}:envelopes', at('bullmq') ? '' : envelope, Date.now());
}

function flush(): void {
  flushQueued = false;
  if (writing || group.length === 0) return;
  const items = group;
  group = [];
  writing = true;
  writeGroup(items)
    .then(
      () => items.forEach((item) => item.resolve()),
      (err: unknown) => items.forEach((item) => item.reject(err)),
    )
    .finally(() => {
      writing = false;
      if (group.length > 0) queueFlush();
    });
}

function queueFlush(): void {
  if (flushQueued) return;
  flushQueued = true;
  setImmediate(flush);
}

function accept(item: Item): Promise<void> {
  return new Promise((resolve, reject) => {
    group.push({ ...item, resolve, reject });
    if (!writing) queueFlush();
  });
}

// --- intake
function installSignature(): void {
  server.removeAllContentTypeParsers();
  server.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const raw = body as Buffer;
    const params = signedParams.get(request);
    if (!params || !build.verifyBodyMd5(params, raw).ok) {
      done(Object.assign(new Error('body_md5 does not match the body'), { statusCode: 401 }), undefined);
      return;
    }
    try {
      done(null, JSON.parse(raw.toString('utf8')) as unknown);
    } catch {
      done(Object.assign(new Error('Request body is not valid JSON'), { statusCode: 400 }), undefined);
    }
  });
  server.addHook('onRequest', (request, reply, done) => {
    const read = build.readSignedParams(request.query as QueryParams);
    const queryAt = request.url.indexOf('?');
    const path = queryAt < 0 ? request.url : request.url.slice(0, queryAt);
    const verified = read.ok ? build.verifyPusherSignature({ method: request.method, path, params: read.params, announcesBody: true }, app) : read;
    if (!read.ok || !verified.ok) {
      void reply.code(401).send({ error: verified.ok ? 'bad query' : verified.error });
      return;
    }
    signedParams.set(request, read.params);
    done();
  });
}

/**
 * A notification through Herald's contract as its intake and its worker check it
 * (`parseNotification`, then the APNs request `prepareNotification` builds), or why not.
 */
function checkedItem(input: unknown, generateId?: () => string): (Item & Prepared) | string {
  const checked = build.parseNotification(input, generateId ? { generateId } : {});
  if (!checked.ok) return checked.error;
  const apns = checked.notification.apns;
  if (!apns) return 'apns is required';
  const prepared = build.prepareNotification(build.apnsFields(apns), topic);
  if (!prepared.ok) return prepared.problem.detail;
  return { id: checked.notification.id, tokens: apns.tokens, payload: apns.payload, headers: prepared.notification.headers, body: prepared.notification.body };
}

/** The body as the rung reads it: through the contract from `validation` on, its `apns` part as given below. */
function itemOf(request: FastifyRequest): Item | string {
  const generateId = (): string => (at('signature') ? build.replayId(request.query) : undefined) ?? `n-${(nextId += 1)}`;
  if (at('validation')) {
    const checked = checkedItem(request.body, generateId);
    return typeof checked === 'string' ? checked : { id: checked.id, tokens: checked.tokens, payload: checked.payload };
  }
  return { id: generateId(), ...uncheckedApnsPart(request.body) };
}

server.post('/apps/:appId/notifications', async (request, reply) => {
  const item = itemOf(request);
  if (typeof item === 'string') return reply.code(400).send({ error: item });
  await accept(item);
  const { appId } = request.params as { appId: string };
  return reply.code(202).header('location', `/apps/${appId}/notifications/${item.id}`).send({ id: item.id });
});

// --- delivery
let maxStreams = 1;
let open = 0;
const slotWaiters: Array<() => void> = [];

function slot(): Promise<void> {
  if (open < maxStreams) {
    open += 1;
    return Promise.resolve();
  }
  return new Promise((resolve) => slotWaiters.push(resolve));
}

function release(): void {
  const next = slotWaiters.shift();
  if (next) next();
  else open -= 1;
}

async function sendToken(token: string, prepared: Prepared): Promise<boolean> {
  if (!session) throw new Error('durable gateway not started');
  const http2 = session;
  await slot();
  return new Promise((resolve) => {
    const stream = http2.request(prepared.headers ? { ':method': 'POST', ':path': `/3/device/${token}`, ...prepared.headers } : alertHeaders(topic, token));
    let status = 0;
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.on('error', () => {});
    stream.resume();
    stream.on('close', () => {
      release();
      resolve(status === 200);
    });
    stream.end(prepared.body);
  });
}

/** What the envelope's worker reads back, checked again from `validation` on. */
function revalidated(item: Item): Item & Prepared {
  if (!at('validation')) return { ...item, body: JSON.stringify(item.payload) };
  const checked = checkedItem({ v: 1, app: app.id, id: item.id, apns: { tokens: item.tokens, payload: item.payload } });
  return typeof checked === 'string' ? { ...item, tokens: [], body: '' } : checked;
}

async function runEnvelope(envelope: string): Promise<void> {
  const items = (JSON.parse(envelope) as Item[]).map(revalidated);
  if (at('status')) await statusOps(items.map((item) => recordKey(item.id)), items.map(() => ['create', 1, ['bench', Date.now(), 1, 1, RECORD_TTL_SECONDS, 'envelope', '1']]));
  const sent = await Promise.all(items.map(async (item) => (await Promise.all(item.tokens.map((token) => sendToken(token, item)))).filter(Boolean).length));
  if (at('status')) {
    // Completed with the first token's outcome: the ladder sends one-token notifications.
    const keys = items.flatMap((item) => [recordKey(item.id), `${recordKey(item.id)}:chunks`, `${recordKey(item.id)}:tokens`, `${recordKey(item.id)}:invalid`]);
    await statusOps(keys, items.map((_, index) => ['complete', 4, ['0', RECORD_TTL_SECONDS, Date.now(), (sent[index] ?? 0) > 0 ? '0' : '']]));
    return;
  }
  const done = store().multi();
  items.forEach((item, index) => done.hset(recordKey(item.id), 'state', 'done', 'sent', sent[index] ?? 0));
  if (!at('bullmq')) done.lrem('{d}:processing', 1, envelope);
  await done.exec();
}

let consuming = false;
let running = 0;
let slotFreed: (() => void) | undefined;

async function consumeList(): Promise<void> {
  while (consuming) {
    if (running >= ENVELOPES_AT_ONCE) {
      await new Promise<void>((resolve) => (slotFreed = resolve));
      continue;
    }
    const envelope = await blocking?.blmove('{d}:envelopes', '{d}:processing', 'LEFT', 'RIGHT', 1).catch(() => null);
    if (!envelope) continue;
    running += 1;
    void runEnvelope(envelope).finally(() => {
      running -= 1;
      slotFreed?.();
      slotFreed = undefined;
    });
  }
}

serveIpc({
  start: async (params: { fixture: FixtureInfo; maxStreams: number; redis: string; rung: Rung }): Promise<number> => {
    build = await loadBuild();
    level = RUNGS.indexOf(params.rung);
    if (level < 0) throw new Error(`unknown rung ${params.rung}`);
    session = await openFixtureSession(params.fixture);
    topic = params.fixture.topic;
    maxStreams = params.maxStreams;
    // Each rung on keys of its own in the one Redis.
    const prefix = `ladder-${params.rung}`;
    redis = new Redis(params.redis, { keyPrefix: `${prefix}:` });
    if (at('signature')) installSignature();
    if (at('bullmq')) {
      const connection = (): Redis => new Redis(params.redis, { maxRetriesPerRequest: null });
      queue = new Queue('envelopes', { connection: connection(), prefix });
      worker = new Worker('envelopes', async (job) => runEnvelope(job.data as string), { connection: connection(), prefix, concurrency: ENVELOPES_AT_ONCE });
    } else {
      blocking = new Redis(params.redis, { keyPrefix: `${prefix}:` });
      consuming = true;
      void consumeList();
    }
    await server.listen({ host: '127.0.0.1', port: 0 });
    const address = server.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  },
  stop: async (): Promise<void> => {
    consuming = false;
    slotFreed?.();
    await server.close();
    await worker?.close();
    await queue?.close();
    session?.close();
    blocking?.disconnect();
    redis?.disconnect();
  },
});
