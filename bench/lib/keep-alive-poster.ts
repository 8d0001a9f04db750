/**
 * A minimal HTTP/1.1 client for the bench's signed POSTs: one keep-alive connection per
 * request in flight, each request written in one write and its answer read by its
 * Content-Length. node:http's client spent 100–160 µs of CPU per request in the APNs
 * bench's signed-HTTP rows: more than the raw HTTP/2 baseline spends per notification,
 * taken from the two cores the daemon under test shares (docs/performance.md). It speaks
 * only what the daemon answers (Content-Length bodies, no 1xx) and fails loudly otherwise.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';

export interface PostAnswer {
  readonly status: number;
  readonly body: string;
}

interface Waiting {
  resolve(answer: PostAnswer): void;
  reject(err: Error): void;
}

const HEAD_END = Buffer.from('\r\n\r\n');

export class KeepAlivePoster {
  private received: Buffer = Buffer.alloc(0);
  private waiting: Waiting | undefined;
  private failure: Error | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly host: string,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  static open(baseUrl: string): Promise<KeepAlivePoster> {
    const url = new URL(baseUrl);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: url.hostname, port: Number(url.port) });
      socket.setNoDelay(true);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.removeListener('error', reject);
        resolve(new KeepAlivePoster(socket, url.host));
      });
    });
  }

  /** POSTs a JSON body to `target` (path and query); one request at a time. */
  post(target: string, body: string): Promise<PostAnswer> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiting) return Promise.reject(new Error('one request at a time per connection'));
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(`POST ${target} HTTP/1.1\r\nhost: ${this.host}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
    const headEnd = this.received.indexOf(HEAD_END);
    if (headEnd < 0) return;
    const head = this.received.toString('latin1', 0, headEnd);
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!length || /\r\ntransfer-encoding:/i.test(head)) {
      this.fail(new Error(`an answer this client does not read: ${head.split('\r\n', 1)[0] ?? ''}`));
      return;
    }
    const end = headEnd + HEAD_END.length + Number(length[1]);
    if (this.received.length < end) return;
    const body = this.received.toString('utf8', headEnd + HEAD_END.length, end);
    this.received = this.received.subarray(end);
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting) waiting.resolve({ status, body });
    else this.fail(new Error(`an answer nobody asked for: ${status}`));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(err);
  }
}
