import { backoffDelay } from '../../lib/backoff.js';
import type { BackoffPolicy } from '../../lib/backoff.js';
import type { Logger } from '../../log/logger.js';
import { Http2Session } from './http2-session.js';
import { ConnectError } from './connection-errors.js';
import type { RetireReason, SessionOptions } from './http2-session.js';

export interface SessionPoolOptions {
  /** Identifies the credential and endpoint; see ApnsCredentials.poolKey. */
  key: string;
  /** Sessions to keep open once there is traffic. */
  size: number;
  session: Omit<SessionOptions, 'onRetired' | 'onCapacity'>;
  /** Certificate authentication: a server closing the connection right after the handshake means it refused the certificate. */
  clientCertificate: boolean;
  connectBackoff: BackoffPolicy;
  log: Logger;
  now?: () => number;
  /** Something waiting for a stream may proceed: a stream ended, a session opened, a limit changed. */
  onCapacity: () => void;
  onSessionCount: (count: number) => void;
  /** A session stopped taking streams for a reason other than Herald stopping. */
  onReplaced: (reason: RetireReason) => void;
}

export type Lease =
  | { kind: 'session'; session: Http2Session }
  /** No session could be opened; `error` is the last connect failure (shared by everyone waiting for it). */
  | { kind: 'connect-failed'; error: ConnectError }
  | { kind: 'stopped' };

/**
 * The sessions of one credential on one endpoint, shared by every app using that
 * credential. A request takes a stream slot on the least busy live session and never
 * exceeds the limit that session's server announced; dead sessions are dropped and
 * replaced on the next demand. At most one connect runs at a time, and after a failed
 * connect no new one starts before the backoff has passed: requests arriving meanwhile
 * get the failure at once instead of each opening a connection.
 */
export class SessionPool {
  private readonly sessions: Http2Session[] = [];
  private connecting: Promise<ConnectError | undefined> | undefined;
  private connectFailures = 0;
  private closedAfterHandshake = 0;
  private nextConnectAt = 0;
  private lastConnectError: ConnectError | undefined;
  private readonly waiters = new Set<() => void>();
  private stopped = false;
  private answers = 0;
  private readonly now: () => number;

  constructor(private readonly options: SessionPoolOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Streams the live sessions accept together; 1 while none is open, so one request can open the first. */
  capacity(): number {
    // Asked on every slot taken and given back: a loop, no arrays.
    let sum = 0;
    let live = 0;
    for (const session of this.sessions) {
      if (!session.usable) continue;
      live += 1;
      sum += session.maxStreams;
    }
    return live === 0 ? 1 : sum;
  }

  /** Responses received on this pool's sessions: tells a stuck server from one that makes progress. */
  get answered(): number {
    return this.answers;
  }

  recordAnswer(): void {
    this.answers += 1;
  }

  get openSessions(): number {
    return this.sessions.length;
  }

  /** When a connect may be tried again after failures (0 when not backing off). */
  get connectRetryAt(): number {
    return this.lastConnectError ? this.nextConnectAt : 0;
  }

  /**
   * A reserved stream slot on a live session at once, when one has a free stream (the
   * common case: no promise is made); undefined when the caller must wait in `acquire`.
   */
  tryAcquire(signal?: AbortSignal): Lease | undefined {
    if (this.stopped || signal?.aborted) return { kind: 'stopped' };
    const session = this.leastBusy();
    if (!session) return undefined;
    session.reserve();
    this.grow();
    return { kind: 'session', session };
  }

  /** A reserved stream slot on a live session; the caller must end it with session.request(). */
  async acquire(signal?: AbortSignal): Promise<Lease> {
    for (;;) {
      const ready = this.tryAcquire(signal);
      if (ready) return ready;
      if (!this.connecting) {
        if (this.lastConnectError && this.now() < this.nextConnectAt) return { kind: 'connect-failed', error: this.lastConnectError };
        if (this.sessions.length < this.options.size || this.sessions.every((s) => !s.usable)) this.connecting = this.connectOne();
      }
      if (this.connecting && !this.sessions.some((s) => s.usable)) {
        const failure = await this.connecting;
        if (failure) return { kind: 'connect-failed', error: failure };
        continue;
      }
      await this.changed(signal);
    }
  }

  /** Stops every session: in-flight streams may finish until `deadline`, then they are cut. */
  async close(deadline: AbortSignal): Promise<void> {
    this.stopped = true;
    this.notify();
    await this.connecting;
    const sessions = [...this.sessions];
    for (const session of sessions) session.retire('stopping');
    const allClosed = Promise.all(sessions.map((session) => session.closed()));
    const cut = new Promise<void>((resolve) => {
      if (deadline.aborted) resolve();
      else deadline.addEventListener('abort', () => resolve(), { once: true });
    });
    await Promise.race([allClosed, cut]);
    for (const session of sessions) session.destroy('stopping');
  }

  private leastBusy(): Http2Session | undefined {
    let best: Http2Session | undefined;
    for (const session of this.sessions) {
      if (session.freeStreams > 0 && (!best || session.inFlight < best.inFlight)) best = session;
    }
    return best;
  }

  /** Opens the remaining sessions in the background once there is traffic. */
  private grow(): void {
    if (this.connecting || this.stopped || this.sessions.length >= this.options.size) return;
    if (this.lastConnectError && this.now() < this.nextConnectAt) return;
    this.connecting = this.connectOne();
  }

  private async connectOne(): Promise<ConnectError | undefined> {
    try {
      const session = await Http2Session.open(
        Object.assign({}, this.options.session, {
          onRetired: (retired: Http2Session, reason: RetireReason) => this.onRetired(retired, reason),
          onCapacity: () => this.notify(),
        }),
      );
      if (this.stopped) {
        session.destroy('stopping');
        return undefined;
      }
      this.sessions.push(session);
      this.connectFailures = 0;
      this.closedAfterHandshake = 0;
      this.lastConnectError = undefined;
      this.options.onSessionCount(this.sessions.length);
      this.options.log.debug({ pool: this.options.key, session: session.id, maxStreams: session.maxStreams }, 'apns session opened');
      return undefined;
    } catch (err) {
      const error = this.interpret(err instanceof ConnectError ? err : new ConnectError('network', (err as Error).message, { cause: err }));
      this.connectFailures += 1;
      this.lastConnectError = error;
      const delay = backoffDelay(this.connectFailures, this.options.connectBackoff);
      this.nextConnectAt = this.now() + delay;
      this.options.log.warn({ pool: this.options.key, code: error.code, kind: error.kind, failures: this.connectFailures, retryInMs: delay }, 'apns connect failed');
      return error;
    } finally {
      this.connecting = undefined;
      this.notify();
    }
  }

  /**
   * A close right after the handshake is taken for a refused client certificate only
   * when it happens on two connects in a row in certificate mode; once could be a
   * server restarting.
   */
  private interpret(error: ConnectError): ConnectError {
    if (error.kind !== 'closed-after-handshake') {
      this.closedAfterHandshake = 0;
      return error;
    }
    this.closedAfterHandshake += 1;
    const refused = this.options.clientCertificate && this.closedAfterHandshake >= 2;
    return new ConnectError(refused ? 'client-certificate-refused' : 'network', error.code, { cause: error });
  }

  private onRetired(session: Http2Session, reason: RetireReason): void {
    const index = this.sessions.indexOf(session);
    if (index >= 0) this.sessions.splice(index, 1);
    this.options.onSessionCount(this.sessions.length);
    if (reason !== 'stopping') {
      this.options.onReplaced(reason);
      this.options.log.warn({ pool: this.options.key, session: session.id, reason, inFlight: session.inFlight }, 'apns session retired');
    }
    this.notify();
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
    this.options.onCapacity();
  }

  private changed(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
