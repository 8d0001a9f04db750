import { isRedisUnavailable } from '../redis/redis-errors.js';

/** Redis error replies that say the queue's data (or the server) refuses writes until an operator acts. */
const LASTING_CODES = ['WRONGTYPE', 'OOM', 'MISCONF', 'NOPERM'] as const;

/** Consecutive lasting refusals after which the queue reports itself unhealthy. */
export const REFUSALS_BEFORE_UNHEALTHY = 3;

/**
 * Why a queue write failed, as a bounded metric label: `unavailable` (Redis unreachable:
 * transient, the connection reports it), a lasting Redis error code, or `other`.
 */
export function enqueueFailureReason(err: unknown): string {
  if (isRedisUnavailable(err)) return 'unavailable';
  const message = err instanceof Error ? err.message : String(err);
  // A BullMQ script hands on the Redis error inside its own message.
  return LASTING_CODES.find((code) => message.includes(code)) ?? 'other';
}

function isLasting(reason: string): boolean {
  return (LASTING_CODES as readonly string[]).includes(reason);
}

export interface QueueWriteHealthOptions {
  /** Checks writes can succeed again (undefined) or says what is wrong; run while refused. */
  probe: () => Promise<string | undefined>;
  probeIntervalMs?: number;
}

/**
 * Tracks whether a queue's writes keep being refused with a lasting error (a key of the
 * wrong type, Redis out of memory …). Such a queue refuses every notification while its
 * connection looks fine, so readiness must say so. Refused, it probes on a timer, so it
 * recovers without traffic (a node out of the load balancer gets none).
 */
export class QueueWriteHealth {
  private refusals = 0;
  private detail: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private probing = false;

  constructor(private readonly o: QueueWriteHealthOptions) {}

  succeeded(): void {
    this.refusals = 0;
    this.detail = undefined;
    this.stopProbing();
  }

  /** Records a failed write; returns its reason (for the metric). */
  failed(err: unknown): string {
    const reason = enqueueFailureReason(err);
    if (!isLasting(reason)) return reason;
    this.refusals += 1;
    this.detail = `writes refused ${this.refusals} times in a row: ${(err instanceof Error ? err.message : String(err)).slice(0, 200)}`;
    if (this.refusals >= REFUSALS_BEFORE_UNHEALTHY) this.startProbing();
    return reason;
  }

  health(): { ok: boolean; detail?: string } {
    return this.refusals >= REFUSALS_BEFORE_UNHEALTHY ? { ok: false, detail: this.detail ?? 'writes refused' } : { ok: true };
  }

  stop(): void {
    this.stopProbing();
  }

  private startProbing(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.probeOnce(), this.o.probeIntervalMs ?? 2_000);
    this.timer.unref();
  }

  private stopProbing(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async probeOnce(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      const problem = await this.o.probe();
      if (problem === undefined) this.succeeded();
      else this.detail = `writes refused: ${problem}`;
    } catch (err) {
      // Unreachable Redis is the connection's own health; a lasting refusal keeps this one unhealthy.
      if (isLasting(enqueueFailureReason(err))) this.detail = `writes refused: ${err instanceof Error ? err.message.slice(0, 200) : String(err)}`;
    } finally {
      this.probing = false;
    }
  }
}
