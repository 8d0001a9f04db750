import type { RawData } from 'ws';
import type { ClientEvents } from './client-events.js';
import type { Connection } from './connection.js';
import { errorFrame, parseFrame, pongFrame } from './protocol.js';
import type { InboundFrame } from './protocol.js';
import type { Signin } from './signin.js';
import type { Subscriptions } from './subscriptions.js';

/**
 * Reads one inbound frame and hands it to its handler. Anything malformed is answered
 * with `pusher:error` (code null), counted and logged at debug; the socket stays open.
 * Nothing a handler throws gets past here: route runs inside the `ws` message listener,
 * where an exception would end the process, and every app's sockets with it.
 */
export class FrameRouter {
  constructor(
    private readonly subscriptions: Subscriptions,
    private readonly signin: Signin,
    private readonly clientEvents: ClientEvents,
  ) {}

  route(conn: Connection, data: RawData, isBinary: boolean, now: number): void {
    let frame: InboundFrame | undefined;
    try {
      frame = this.read(conn, data, isBinary, now);
      if (frame) this.dispatch(conn, frame);
    } catch (err) {
      conn.fail(err, handlerOf(frame?.event));
    }
  }

  /** The frame, or undefined when it was refused here. */
  private read(conn: Connection, data: RawData, isBinary: boolean, now: number): InboundFrame | undefined {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    conn.metrics.messagesIn.inc();
    conn.metrics.bytesIn.inc(bytes.length);
    conn.lastSeenAt = now;
    conn.pingSentAt = undefined;
    if (!conn.established) {
      // Nothing may precede connection_established, not even an error frame.
      this.reject(conn, 'not_established', undefined);
      return undefined;
    }
    if (isBinary) {
      this.reject(conn, 'binary_frame', 'Binary frames are not supported; send JSON text frames');
      return undefined;
    }
    const parsed = parseFrame(bytes);
    if (!parsed.ok) {
      this.reject(conn, parsed.reason, parsed.message);
      return undefined;
    }
    return parsed.frame;
  }

  private dispatch(conn: Connection, frame: InboundFrame): void {
    switch (frame.event) {
      case 'pusher:ping':
        conn.send(pongFrame);
        return;
      case 'pusher:pong':
        return;
      case 'pusher:subscribe':
        this.subscriptions.subscribe(conn, frame);
        return;
      case 'pusher:unsubscribe':
        this.subscriptions.unsubscribe(conn, frame);
        return;
      case 'pusher:signin':
        this.signin.handle(conn, frame);
        return;
      default:
        if (frame.event.startsWith('client-')) this.clientEvents.handle(conn, frame);
        else if (frame.event.startsWith('pusher:') || frame.event.startsWith('pusher_internal:')) {
          this.reject(conn, 'unknown_event', `Unknown event ${frame.event.slice(0, 64)}`);
        } else {
          conn.metrics.clientEventRejected('no_client_prefix');
          this.reject(conn, 'no_client_prefix', 'Events sent by clients must start with client-');
        }
    }
  }

  private reject(conn: Connection, reason: string, message: string | undefined): void {
    conn.metrics.protocolError(reason);
    conn.log.debug({ reason }, 'bad frame');
    if (message !== undefined) conn.send(errorFrame(null, message));
  }
}

/** A bounded metric label for the handler that failed: the protocol's own events by name, the rest by kind. */
export function handlerOf(event: string | undefined): string {
  switch (event) {
    case undefined:
      return 'read';
    case 'pusher:ping':
    case 'pusher:pong':
    case 'pusher:subscribe':
    case 'pusher:unsubscribe':
    case 'pusher:signin':
      return event;
    default:
      return event.startsWith('client-') ? 'client_event' : 'other';
  }
}
