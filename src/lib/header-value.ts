/**
 * Values Herald puts into HTTP/2 request headers (APNs `apns-topic`, `apns-collapse-id`).
 * Printable ASCII only, no leading or trailing space: CR/LF or non-ASCII would be refused
 * by the HTTP/2 stack at send time, long after the producer was answered 202. A plain
 * pattern, so the published JSON Schema carries it too.
 */
export const headerValuePattern = /^[\x21-\x7E](?:[\x20-\x7E]*[\x21-\x7E])?$/;

export const headerValueMessage = 'must be printable ASCII (no control characters such as CR/LF, no leading or trailing space)';

/** A header value that is one word, such as an APNs topic (a bundle id with a suffix). */
export const headerWordPattern = /^[\x21-\x7E]+$/;

export const headerWordMessage = 'must be printable ASCII without spaces (no control characters such as CR/LF)';
