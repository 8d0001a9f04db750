/**
 * The `apns` part of a notification body read without checking anything else, as the
 * bench's baseline gateways read it (the bare gateway, the durable ladder's lower rungs).
 */
export function uncheckedApnsPart(body: unknown): { tokens: string[]; payload: unknown } {
  const apns = (body as { apns?: { tokens?: unknown; payload?: unknown } } | null)?.apns;
  const tokens = Array.isArray(apns?.tokens) ? apns.tokens.filter((token): token is string => typeof token === 'string') : [];
  return { tokens, payload: apns?.payload ?? {} };
}
