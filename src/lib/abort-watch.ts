/**
 * Runs callbacks when a signal aborts, for many short-lived watchers of a few
 * long-lived signals (an envelope job's, a provider's `stopping`). Each watcher is a
 * Set entry: Node's EventTarget scans its listener list on every add and remove, and
 * `AbortSignal.any` costs a weak reference per call — with a thousand batches on one
 * signal those were a tenth of the CPU of a one-token notification.
 */
const watchers = new WeakMap<AbortSignal, Set<() => void>>();

/** Calls `fn` once when `signal` aborts (not if it already has: check `aborted` first). Returns the way to stop watching. */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  let watching = watchers.get(signal);
  if (!watching) {
    const created = new Set<() => void>();
    watching = created;
    watchers.set(signal, created);
    signal.addEventListener(
      'abort',
      () => {
        const due = [...created];
        created.clear();
        for (const watcher of due) watcher();
      },
      { once: true },
    );
  }
  const set = watching;
  set.add(fn);
  return () => {
    set.delete(fn);
  };
}

/** A controller that aborts with the first of `parents` to abort (and can be aborted on its own), without `AbortSignal.any`. */
export function childController(...parents: readonly AbortSignal[]): { controller: AbortController; release: () => void } {
  const controller = new AbortController();
  const aborted = parents.find((parent) => parent.aborted);
  if (aborted) {
    controller.abort(aborted.reason);
    return { controller, release: () => {} };
  }
  const stops = parents.map((parent) => onAbort(parent, () => controller.abort(parent.reason)));
  return {
    controller,
    release: () => {
      for (const stop of stops) stop();
    },
  };
}
