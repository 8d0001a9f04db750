export type HeraldClientErrorCode =
  /** The notification was refused as invalid (HTTP 400, or local validation); `path` names the first problem. */
  | 'invalid'
  /** The signature, key or app was refused (401, 403, 404 on the app). */
  | 'unauthorized'
  /** Too large (413). */
  | 'too_large'
  /** 409 from a Herald older than per-app ids: the id was used by another app. */
  | 'conflict'
  /** Herald or Redis could not be reached, or answered 5xx. */
  | 'unavailable'
  /** Herald answered something this client does not understand. */
  | 'bad_response';

export interface HeraldClientErrorDetails {
  status?: number;
  path?: string;
  id?: string;
  index?: number;
  ids?: readonly string[];
  cause?: unknown;
}

/** The one error the client throws; `status` is the HTTP status when there was one. */
export class HeraldClientError extends Error {
  readonly code: HeraldClientErrorCode;
  readonly status: number | undefined;
  readonly path: string | undefined;
  /**
   * The id the failed send used (also when the client chose it): send the notification
   * again with this id, and it is queued at most once.
   */
  readonly id: string | undefined;
  /** `sendMany`: the position in the array of the notification this error is about, when it is about one. */
  readonly index: number | undefined;
  /**
   * `sendMany`: the ids the call used, in the order given (also those the client chose).
   * Send the same notifications again with these ids and each is queued at most once.
   */
  readonly ids: readonly string[] | undefined;

  constructor(code: HeraldClientErrorCode, message: string, details: HeraldClientErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'HeraldClientError';
    this.code = code;
    this.status = details.status;
    this.path = details.path;
    this.id = details.id;
    this.index = details.index;
    this.ids = details.ids;
  }
}
