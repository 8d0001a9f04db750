export interface ReadinessCheck {
  ok: boolean;
  detail?: string;
}

/** Named checks that modules register; /ready is ready only when all pass. */
export class Readiness {
  private readonly checks = new Map<string, () => ReadinessCheck>();
  private draining = false;

  register(name: string, check: () => ReadinessCheck): void {
    this.checks.set(name, check);
  }

  /** Called at the start of shutdown so load balancers stop sending traffic. */
  markDraining(): void {
    this.draining = true;
  }

  report(): { ready: boolean; checks: Record<string, ReadinessCheck> } {
    const checks: Record<string, ReadinessCheck> = {};
    if (this.draining) checks.shutdown = { ok: false, detail: 'draining' };
    for (const [name, check] of this.checks) {
      try {
        checks[name] = check();
      } catch (err) {
        checks[name] = { ok: false, detail: (err as Error).message };
      }
    }
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  }
}
