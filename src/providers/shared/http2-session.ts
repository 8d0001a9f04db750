/**
 * One HTTP/2 connection to a push service (APNs, FCM): Herald's own thin client on
 * node:http2 (docs/apns.md, "Why not node-apn"). Transport only: it reports for every
 * request a `StreamResult` (answered, certainly never processed, or possibly processed);
 * pooling is session-pool.ts's, resends and classification each provider's.
 */
import { connect, constants } from 'node:http2';
import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { isIP } from 'node:net';
import { CLOSED_AFTER_HANDSHAKE, ConnectError, classifyConnectionError } from './connection-errors.js';

export interface SessionOptions {
  host: string;
  port: number;
  tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; pfx?: Buffer; passphrase?: string };
  connectTimeoutMs: number;
  pingIntervalMs: number;
  pingTimeoutMs: number;
  /** Called once when the session stops taking new streams, with why. */
  onRetired: (session: Http2Session, reason: RetireReason) => void;
  /** Called when the session can take more streams (a stream ended, the limit changed). */
  onCapacity: () => void;
}

export type RetireReason = 'goaway' | 'ping' | 'stalled' | 'error' | 'closed' | 'shutdown' | 'stopping';

/**
 * Requests timing out in a row, with no answer between them, after which a session is
 * retired even though it still acknowledges PINGs: a peer that keeps the connection
 * alive but has stopped answering requests.
 */
export const STALLED_STREAMS_LIMIT = 3;

/** Response bodies are kept up to this many bytes (APNs and FCM answer well under 1 KB): a peer cannot fill memory. */
export const MAX_RESPONSE_BODY_BYTES = 64 * 1024;

export type StreamResult =
  | { kind: 'response'; status: number; headers: IncomingHttpHeaders; body: string }
  /** Certainly not processed by the server (refused, above GOAWAY's last stream id, never sent): resend freely. */
  | { kind: 'unsent'; cause: string }
  /** Sent, but no answer (timeout, connection died): the server may have processed it. */
  | { kind: 'lost'; cause: string }
  /** The server refused the client certificate during the TLS handshake. */
  | { kind: 'credentials'; cause: string };

/** Called once per request with its result and the caller's tag. */
export type RequestDone<T> = (result: StreamResult, tag: T) => void;

let nextSessionId = 1;

export class Http2Session {
  readonly id = nextSessionId++;
  private active = 0;
  private retired: RetireReason | undefined;
  private goawayLastStreamId: number | undefined;
  private failure: unknown;
  private timeoutsSinceAnswer = 0;
  private pingTimer: NodeJS.Timeout | undefined;
  private pingDeadline: NodeJS.Timeout | undefined;

  private constructor(
    private readonly session: ClientHttp2Session,
    private readonly options: SessionOptions,
  ) {}

  /** Opens a session and resolves once the server's first SETTINGS arrived; rejects with ConnectError. */
  static open(options: SessionOptions): Promise<Http2Session> {
    const servername = isIP(options.host) ? undefined : options.host;
    const session = connect(`https://${options.host}:${options.port}`, Object.assign({}, options.tls, servername === undefined ? {} : { servername }, { settings: { enablePush: false } }));
    const apns = new Http2Session(session, options);
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        session.destroy();
        const { kind, code } = classifyConnectionError(err);
        reject(new ConnectError(kind, code, { cause: err }));
      };
      const timer = setTimeout(() => fail(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })), options.connectTimeoutMs);
      let handshakeDone = false;
      session.once('connect', () => {
        handshakeDone = true;
      });
      // A permanent listener: a session that failed set-up may still emit errors while it is torn down.
      session.on('error', fail);
      session.once('close', () => {
        const code = handshakeDone ? CLOSED_AFTER_HANDSHAKE : 'ECONNRESET';
        fail(Object.assign(new Error('connection closed during set-up'), { code }));
      });
      session.once('remoteSettings', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        session.removeListener('error', fail);
        apns.watch();
        resolve(apns);
      });
    });
  }

  /** The server's current limit on concurrent streams. */
  get maxStreams(): number {
    return this.session.remoteSettings.maxConcurrentStreams ?? Number.MAX_SAFE_INTEGER;
  }

  get inFlight(): number {
    return this.active;
  }

  get usable(): boolean {
    return this.retired === undefined && !this.session.closed && !this.session.destroyed;
  }

  get freeStreams(): number {
    return this.usable ? Math.max(0, this.maxStreams - this.active) : 0;
  }

  /** Claims a stream slot before the request is built, so concurrent callers never overshoot. */
  reserve(): void {
    this.active += 1;
  }

  /** Sends one request on a reserved slot. Never rejects. */
  request(headers: OutgoingHttpHeaders, body: Buffer, timeoutMs: number): Promise<StreamResult> {
    return new Promise((resolve) => this.send(headers, body, timeoutMs, resolve, undefined));
  }

  /**
   * Sends one request on a reserved slot and calls `done(result, tag)` once, never
   * synchronously. The hot path of a batch: the request's state is one object and its
   * stream's listeners are shared functions, so nothing per request but that object
   * lives until the answer (docs/performance.md, "Requests without promises").
   */
  send<T>(headers: OutgoingHttpHeaders, body: Buffer, timeoutMs: number, done: RequestDone<T>, tag: T): void {
    let stream: ClientHttp2Stream;
    try {
      // POST: node leaves the stream open for the body (no options object to copy and check).
      stream = this.session.request(headers);
    } catch (err) {
      this.releaseSlot();
      // Refused synchronously (GOAWAY received, session closing): nothing was sent.
      const result: StreamResult = { kind: 'unsent', cause: (err as NodeJS.ErrnoException).code ?? 'request refused' };
      process.nextTick(done, result, tag);
      return;
    }
    const pending = new PendingRequest(this, stream, done as RequestDone<unknown>, tag);
    (stream as TrackedStream)[PENDING] = pending;
    pending.timer = setTimeout(Http2Session.onRequestTimeout, timeoutMs, pending);
    stream.on('response', Http2Session.onResponse);
    stream.on('data', Http2Session.onData);
    stream.on('error', Http2Session.onError);
    stream.on('close', Http2Session.onClose);
    stream.end(body);
  }

  /** A request's deadline passed (after the I/O already waiting was read): cancel it, and suspect the session. */
  private timedOut(pending: PendingRequest): void {
    const { stream } = pending;
    if (pending.status !== undefined || stream.closed) return;
    pending.timedOut = true;
    stream.close(constants.NGHTTP2_CANCEL);
    // A stream that stalls may mean a dead peer: check the whole session now.
    this.timeoutsSinceAnswer += 1;
    if (this.timeoutsSinceAnswer >= STALLED_STREAMS_LIMIT) this.retire('stalled');
    else this.checkAlive();
  }

  /** The request's stream closed: free its slot and report. */
  private settled(pending: PendingRequest): void {
    clearTimeout(pending.timer);
    this.releaseSlot();
    const { status, bodyParts } = pending;
    const result: StreamResult =
      status !== undefined
        ? { kind: 'response', status, headers: pending.headers, body: bodyParts ? Buffer.concat(bodyParts).toString('utf8') : '' }
        : this.resultWithoutAnswer(pending.stream, pending.timedOut, pending.error);
    pending.done(result, pending.tag);
  }

  // Stream listeners shared by every request: node calls them with the stream as `this`.
  private static onResponse(this: TrackedStream, headers: IncomingHttpHeaders): void {
    const pending = this[PENDING];
    pending.session.timeoutsSinceAnswer = 0;
    pending.status = Number(headers[':status']);
    pending.headers = headers;
  }

  private static onData(this: TrackedStream, chunk: Buffer): void {
    const pending = this[PENDING];
    if (pending.bodyBytes >= MAX_RESPONSE_BODY_BYTES) return;
    const kept = chunk.subarray(0, MAX_RESPONSE_BODY_BYTES - pending.bodyBytes);
    (pending.bodyParts ??= []).push(kept);
    pending.bodyBytes += kept.length;
  }

  private static onError(this: TrackedStream, err: unknown): void {
    this[PENDING].error = err;
  }

  private static onClose(this: TrackedStream): void {
    const pending = this[PENDING];
    pending.session.settled(pending);
  }

  private static onRequestTimeout(this: void, pending: PendingRequest): void {
    // After the I/O already waiting (see afterPendingIo): an answer in the socket buffer is read first.
    setImmediate(() => pending.session.timedOut(pending));
  }

  /** Stops new streams and lets those in flight finish (server said Shutdown, or Herald is stopping). */
  retire(reason: RetireReason): void {
    this.markRetired(reason);
    if (!this.session.closed && !this.session.destroyed) this.session.close();
  }

  destroy(reason: RetireReason): void {
    this.markRetired(reason);
    if (!this.session.destroyed) this.session.destroy();
  }

  /** Resolves once the session is closed (immediately if it already is). */
  closed(): Promise<void> {
    if (this.session.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.session.once('close', () => resolve()));
  }

  private watch(): void {
    const session = this.session;
    session.on('error', (err) => {
      this.failure = err;
      this.markRetired('error');
    });
    session.on('goaway', (_code: number, lastStreamId: number) => {
      this.goawayLastStreamId = lastStreamId;
      this.markRetired('goaway');
    });
    session.on('close', () => this.markRetired('closed'));
    session.on('remoteSettings', () => this.options.onCapacity());
    session.on('frameError', () => {
      // Reported on the stream it belongs to; nothing to do for the session.
    });
    this.pingTimer = setInterval(() => this.checkAlive(), this.options.pingIntervalMs);
    this.pingTimer.unref();
  }

  /** Pings the peer; no acknowledgement within pingTimeoutMs → the session is dead. */
  private checkAlive(): void {
    if (this.pingDeadline || this.session.destroyed || this.session.closed) return;
    const deadline = setTimeout(
      afterPendingIo(() => {
        if (this.pingDeadline !== deadline) return;
        this.pingDeadline = undefined;
        this.destroy('ping');
      }),
      this.options.pingTimeoutMs,
    );
    this.pingDeadline = deadline;
    this.pingDeadline.unref();
    const sent = this.session.ping((err) => {
      if (err) return;
      clearTimeout(this.pingDeadline);
      this.pingDeadline = undefined;
    });
    if (!sent) {
      clearTimeout(this.pingDeadline);
      this.pingDeadline = undefined;
    }
  }

  private resultWithoutAnswer(stream: ClientHttp2Stream, timedOut: boolean, streamError: unknown): StreamResult {
    if (timedOut) return { kind: 'lost', cause: 'timeout' };
    if (stream.rstCode === constants.NGHTTP2_REFUSED_STREAM) return { kind: 'unsent', cause: 'refused-stream' };
    const id = stream.id;
    if (id === undefined) return { kind: 'unsent', cause: 'not-sent' };
    if (this.goawayLastStreamId !== undefined && id > this.goawayLastStreamId) return { kind: 'unsent', cause: 'goaway' };
    if (this.failure !== undefined) {
      const { kind, code } = classifyConnectionError(this.failure);
      if (kind === 'client-certificate-refused') return { kind: 'credentials', cause: code };
      return { kind: 'lost', cause: code };
    }
    const code = (streamError as NodeJS.ErrnoException | undefined)?.code;
    return { kind: 'lost', cause: this.retired ?? code ?? `rst-${stream.rstCode ?? 'none'}` };
  }

  private releaseSlot(): void {
    this.active -= 1;
    this.options.onCapacity();
  }

  private markRetired(reason: RetireReason): void {
    if (this.retired !== undefined) return;
    this.retired = reason;
    clearInterval(this.pingTimer);
    clearTimeout(this.pingDeadline);
    this.pingDeadline = undefined;
    this.options.onRetired(this, reason);
  }
}

/**
 * Runs `fn` after the I/O that is already waiting has been processed. When the event
 * loop was blocked past a deadline (GC, a CPU-heavy batch), timers run before the
 * poll phase: without this, a PING ack or a response sitting in the socket buffer
 * would be read only after the connection was declared dead.
 */
function afterPendingIo(fn: () => void): () => void {
  return () => {
    setImmediate(fn);
  };
}

const PENDING = Symbol('herald.pendingRequest');
const NO_HEADERS: IncomingHttpHeaders = Object.freeze({});
type TrackedStream = ClientHttp2Stream & { [PENDING]: PendingRequest };

/** One request in flight: everything its stream's listeners need, in one object. */
class PendingRequest {
  status: number | undefined = undefined;
  headers: IncomingHttpHeaders = NO_HEADERS;
  // Raw bytes, decoded once at the end: most answers have no body, and no decoder is made for them.
  bodyParts: Buffer[] | undefined = undefined;
  bodyBytes = 0;
  timedOut = false;
  error: unknown = undefined;
  timer: NodeJS.Timeout | undefined = undefined;

  constructor(
    readonly session: Http2Session,
    readonly stream: ClientHttp2Stream,
    readonly done: RequestDone<unknown>,
    readonly tag: unknown,
  ) {}
}
