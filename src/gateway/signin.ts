import type { EventBus } from '../events.js';
import type { Connection } from './connection.js';
import { verifySigninAuth } from './channels/channel-auth.js';
import { isValidSigninUserId } from './channels/channel-name.js';
import { Close } from './close-codes.js';
import type { LocalSockets } from './local-sockets.js';
import { frameDataObject, signinSuccessFrame } from './protocol.js';
import type { InboundFrame } from './protocol.js';
import { rawJsonTooDeep } from '../lib/json-depth.js';
import { MAX_USER_INFO_DEPTH } from './raw-json.js';
import type { UserSignins } from './user-signins.js';

/**
 * pusher:signin. A valid signature over `socket_id::user::user_data` binds the
 * socket to the user (for #server-to-user channels, termination and presence
 * without channel_data). A refused sign-in closes the socket with 4009, so a
 * client never keeps running under an identity it failed to prove.
 */
export class Signin {
  constructor(
    private readonly sockets: LocalSockets<Connection>,
    private readonly events: EventBus,
    private readonly signins: UserSignins,
  ) {}

  handle(conn: Connection, frame: InboundFrame): void {
    const data = frameDataObject(frame.data);
    const userData = data?.user_data;
    if (typeof userData !== 'string') {
      this.refuse(conn, 'bad_signin', 'pusher:signin needs user_data as a JSON string');
      return;
    }
    const auth = verifySigninAuth(conn.app, conn.socketId, userData, data?.auth);
    if (!auth.ok) {
      this.refuse(conn, 'auth_failed', `Sign-in refused: ${auth.message}`);
      return;
    }
    if (rawJsonTooDeep(Buffer.from(userData), MAX_USER_INFO_DEPTH)) {
      this.refuse(conn, 'bad_signin', `user_data nests deeper than ${MAX_USER_INFO_DEPTH} levels of objects and arrays`);
      return;
    }
    const user = parseUserData(userData);
    if (!user) {
      this.refuse(conn, 'bad_signin', 'user_data must be a JSON object with a string id of channel-name characters');
      return;
    }
    if (conn.user && conn.user.id !== user.id) {
      this.refuse(conn, 'bad_signin', 'Connection is already signed in as another user');
      return;
    }
    conn.authDeadlineAt = undefined;
    if (conn.user) {
      conn.send(signinSuccessFrame(userData));
      return;
    }
    conn.user = user;
    this.sockets.rememberUser(conn, user.id);
    this.events.emit('user.signed_in', { app: conn.app.id, socketId: conn.socketId, userId: user.id });
    void this.record(conn, user.id, userData);
  }

  /**
   * Online for notifications (the shared state) before the client hears it is signed in.
   * A failed write leaves the user counted offline: such a user gets a push, never nothing.
   */
  private async record(conn: Connection, userId: string, userData: string): Promise<void> {
    try {
      await this.signins.signedIn(conn.app.id, conn.socketId, userId);
      // Closed meanwhile: its close already removed a record that was not there yet.
      if (conn.closed) await this.signins.signedOut(conn.app.id, conn.socketId, userId);
    } catch (err) {
      conn.log.warn({ err }, 'sign-in not recorded in the shared state: the user counts as offline');
    }
    if (conn.open) conn.send(signinSuccessFrame(userData));
  }

  private refuse(conn: Connection, reason: string, message: string): void {
    conn.metrics.protocolError(reason);
    conn.log.debug({ reason }, 'sign-in refused');
    conn.close(Close.Unauthorized, message);
  }
}

function parseUserData(userData: string): { id: string; info: unknown } | undefined {
  try {
    const value: unknown = JSON.parse(userData);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    const { id, user_info: info } = value as Record<string, unknown>;
    return isValidSigninUserId(id) ? { id, info: info ?? {} } : undefined;
  } catch {
    return undefined;
  }
}
