import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

/**
 * Request/reply over a child's IPC channel, so a bench can drive load generators and
 * baseline servers that run in their own processes (their own event loops, and /proc
 * CPU readings of their own).
 */

interface IpcRequest {
  readonly id: number;
  readonly method: string;
  readonly params: unknown;
}

type IpcReply = { readonly id: number; readonly result: unknown } | { readonly id: number; readonly error: string };

export type IpcHandlers = Record<string, (params: never) => unknown>;

/** Child side: answers each request with its handler's (awaited) result. */
export function serveIpc(handlers: IpcHandlers): void {
  if (!process.send) throw new Error('serveIpc needs a process started with an IPC channel');
  process.on('message', (message: IpcRequest) => {
    const handler = handlers[message.method];
    void (async () => {
      let reply: IpcReply;
      try {
        if (!handler) throw new Error(`unknown method ${message.method}`);
        reply = { id: message.id, result: await (handler as (params: unknown) => unknown)(message.params) };
      } catch (err) {
        reply = { id: message.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
      }
      process.send?.(reply);
    })();
  });
  // The parent going away ends the child: a crashed bench leaves no load generator behind.
  process.on('disconnect', () => process.exit(0));
  process.send({ ready: true });
}

/** Parent side of one child. */
export class IpcChild {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  readonly exited: Promise<number | string>;

  private constructor(readonly child: ChildProcess) {
    child.on('message', (message: IpcReply | { ready: true }) => {
      if (!('id' in message)) return;
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if ('error' in message) waiter.reject(new Error(message.error));
      else waiter.resolve(message.result);
    });
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        for (const waiter of this.pending.values()) waiter.reject(new Error(`child exited (${code ?? signal}) with a request pending`));
        this.pending.clear();
        resolve(code ?? signal ?? -1);
      }),
    );
  }

  /** Forks a TypeScript module, run through tsx; messages use the structured-clone serializer (typed arrays pass whole). */
  static async start(modulePath: URL, options: { args?: string[]; execArgv?: string[]; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<IpcChild> {
    const child = fork(modulePath.pathname, options.args ?? [], {
      // BENCH_CPU_PROF profiles the bench's own children too (baselines, load generators, the APNs fixture).
      execArgv: ['--import', 'tsx', ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []), ...(options.execArgv ?? [])],
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    const ipc = new IpcChild(child);
    // Requests sent before the child listens would be lost: wait for its hello.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${modulePath.pathname} did not start within ${options.timeoutMs ?? 20_000} ms`)), options.timeoutMs ?? 20_000);
      child.once('message', () => {
        clearTimeout(timer);
        resolve();
      });
      void ipc.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${modulePath.pathname} exited (${code}) before it started`));
      });
    });
    return ipc;
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('child has no pid');
    return this.child.pid;
  }

  call<T>(method: string, params: unknown = {}, timeoutMs = 60_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      this.child.send({ id, method, params } satisfies IpcRequest);
    });
  }

  /** Asks the child to exit and waits; kills it when it does not. */
  async stop(timeoutMs = 5_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}
