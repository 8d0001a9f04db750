/** Everything long-lived: started in order by main.ts, stopped in reverse. */
export interface Service {
  readonly name: string;
  start(): Promise<void>;
  /** Must return by the time `deadline` aborts, giving up on whatever is left. */
  stop(deadline: AbortSignal): Promise<void>;
}
