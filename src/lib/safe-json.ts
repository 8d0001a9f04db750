/**
 * JSON.stringify that cannot throw: a value too deep (RangeError), cyclic, holding a
 * BigInt, or whose text would pass V8's string limit comes back as a problem value,
 * so a caller's data never turns into an infrastructure error (a 503, a retried job).
 */
export type Serialized = { readonly ok: true; readonly json: string } | { readonly ok: false; readonly error: string };

export function serializeJson(value: unknown): Serialized {
  try {
    // undefined, a function or a symbol at the top serialise to nothing: say so rather than send "undefined".
    const json = JSON.stringify(value) as string | undefined;
    return json === undefined ? { ok: false, error: 'is not a JSON value' } : { ok: true, json };
  } catch (err) {
    return { ok: false, error: `cannot be serialised as JSON (${err instanceof Error ? err.message : String(err)})` };
  }
}
