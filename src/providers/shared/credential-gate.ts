/**
 * Whether an app may send right now. When the push service (APNs, FCM) refuses an
 * app's credentials (403 family), hammering it with the rest of the batch changes
 * nothing and may get the account throttled, so the gate closes: no request for that
 * app until the cool-down has passed. Then exactly one request goes out as a probe; its
 * answer reopens the gate (anything but a credential refusal) or closes it for another cool-down.
 */
export type GateState =
  | { kind: 'open' }
  | { kind: 'closed'; reason: string; status?: number; until: number }
  | { kind: 'probing'; reason: string; status?: number };

export type Admission =
  | { kind: 'send' }
  /** This request is the probe: send it, then report with `probeDone`. */
  | { kind: 'probe' }
  /** A probe is out; wait for its answer. */
  | { kind: 'wait' }
  | { kind: 'refused'; reason: string; status?: number; afterMs: number };

export class CredentialGate {
  private state: GateState = { kind: 'open' };

  constructor(
    private readonly cooldownMs: number,
    private readonly now: () => number = Date.now,
    private readonly onChange: (open: boolean, state: GateState) => void = () => {},
  ) {}

  get current(): GateState {
    return this.state;
  }

  get open(): boolean {
    return this.state.kind === 'open';
  }

  admit(): Admission {
    const state = this.state;
    if (state.kind === 'open') return { kind: 'send' };
    if (state.kind === 'probing') return { kind: 'wait' };
    const afterMs = state.until - this.now();
    if (afterMs > 0) return { kind: 'refused', reason: state.reason, afterMs, ...(state.status === undefined ? {} : { status: state.status }) };
    this.state = { kind: 'probing', reason: state.reason, ...(state.status === undefined ? {} : { status: state.status }) };
    return { kind: 'probe' };
  }

  /** The push service refused the credentials (from any request, probe or not). */
  refuse(reason: string, status?: number): void {
    const wasOpen = this.state.kind === 'open';
    this.state = { kind: 'closed', reason, until: this.now() + this.cooldownMs, ...(status === undefined ? {} : { status }) };
    if (wasOpen) this.onChange(false, this.state);
  }

  /** The push service accepted a request: the credentials work. */
  accept(): void {
    if (this.state.kind === 'open') return;
    this.state = { kind: 'open' };
    this.onChange(true, this.state);
  }

  /** The probe got no verdict on the credentials (network error, retryable status): let the next request probe again. */
  probeInconclusive(): void {
    if (this.state.kind === 'probing') this.state = { kind: 'closed', reason: this.state.reason, until: this.now(), ...(this.state.status === undefined ? {} : { status: this.state.status }) };
  }
}
