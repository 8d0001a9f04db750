export interface ReadinessCheck {
  ok: boolean;
  detail?: string;
}

/** Something an operator should see that does not stop this process from serving (e.g. one app's broken credentials). */
export interface ReadinessWarning {
  /** The source that reported it, e.g. `apns`. */
  check: string;
  /** The app concerned, when it concerns one app. */
  app?: string;
  detail: string;
}

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, ReadinessCheck>;
  warnings: ReadinessWarning[];
}

type WarningSource = () => ReadonlyArray<Omit<ReadinessWarning, 'check'>>;

/**
 * /ready: this process's ability to serve. Named checks gate readiness (Redis, queue
 * consumer, draining); warnings are shown in the body but never make it 503, because a
 * failing readiness takes the pod out of every Service: one tenant's problem (say, its
 * APNs key refused) must not take every pod away from every tenant.
 */
export class Readiness {
  private readonly checks = new Map<string, () => ReadinessCheck>();
  private readonly warningSources = new Map<string, WarningSource>();
  private draining = false;

  register(name: string, check: () => ReadinessCheck): void {
    this.checks.set(name, check);
  }

  /** A source of warnings, listed in /ready's body; it never makes the process unready. */
  registerWarnings(name: string, source: WarningSource): void {
    this.warningSources.set(name, source);
  }

  /** Called at the start of shutdown so load balancers stop sending traffic. */
  markDraining(): void {
    this.draining = true;
  }

  report(): ReadinessReport {
    const checks: Record<string, ReadinessCheck> = {};
    if (this.draining) checks.shutdown = { ok: false, detail: 'draining' };
    for (const [name, check] of this.checks) {
      try {
        checks[name] = check();
      } catch (err) {
        checks[name] = { ok: false, detail: (err as Error).message };
      }
    }
    const warnings: ReadinessWarning[] = [];
    for (const [name, source] of this.warningSources) {
      try {
        for (const warning of source()) warnings.push({ check: name, ...warning });
      } catch (err) {
        warnings.push({ check: name, detail: `could not be read: ${(err as Error).message}` });
      }
    }
    return { ready: Object.values(checks).every((c) => c.ok), checks, warnings };
  }
}
