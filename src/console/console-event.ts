/** One line of the console's live feed. `detail` holds only what the viewer shows (never secrets). */
export interface ConsoleEvent {
  readonly at: number;
  readonly node: string;
  readonly app: string;
  readonly type: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

export function isConsoleEvent(value: unknown): value is ConsoleEvent {
  if (value === null || typeof value !== 'object') return false;
  const e = value as Record<string, unknown>;
  return typeof e.at === 'number' && typeof e.node === 'string' && typeof e.app === 'string' && typeof e.type === 'string' && e.detail !== null && typeof e.detail === 'object';
}
