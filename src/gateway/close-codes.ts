/**
 * Pusher protocol close codes. 4000–4099: the client must not reconnect unchanged;
 * 4100–4199: reconnect after backing off; 4200–4299: reconnect at once.
 */
export const Close = {
  AppUnknown: 4001,
  AppDisabled: 4003,
  OverQuota: 4004,
  PathNotFound: 4005,
  InvalidVersion: 4006,
  UnsupportedProtocol: 4007,
  NoProtocol: 4008,
  Unauthorized: 4009,
  /** Also used for slow consumers: pusher-js backs off one second and reconnects. */
  OverCapacity: 4100,
  Reconnect: 4200,
  PongTimeout: 4201,
} as const;

export type CloseCode = (typeof Close)[keyof typeof Close];

/**
 * Codes sent inside `pusher:error` only. A socket must never be closed with them:
 * pusher-js treats any close code ≥ 4300 as "refused" and stops reconnecting.
 */
export const PusherErrorCode = {
  ClientEventRateLimit: 4301,
} as const;

/** A stable, bounded metric label for a close code. */
export function closeReasonLabel(code: number): string {
  switch (code) {
    case 1000:
      return 'normal';
    case 1001:
      return 'going_away';
    case 1005:
    case 1006:
      return 'abnormal';
    case 1007:
      return 'invalid_utf8';
    case 1009:
      return 'too_large';
    case Close.Unauthorized:
      return 'unauthorized';
    case Close.OverCapacity:
      return 'over_capacity';
    case Close.Reconnect:
      return 'server_going_away';
    case Close.PongTimeout:
      return 'pong_timeout';
    default:
      return code >= 4000 && code < 5000 ? 'pusher_other' : 'other';
  }
}

/** A close frame's reason is capped at 123 bytes; longer text is cut (on a byte boundary, repaired by UTF-8 decoding). */
export function closeReason(message: string): string {
  return Buffer.byteLength(message) <= 123 ? message : Buffer.from(message).subarray(0, 120).toString('utf8');
}
