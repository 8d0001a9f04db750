import type { AppConfig } from '../config/load.js';

export type App = AppConfig;

/** Looks apps up by id (HTTP API) and by key (WebSocket). From config, replaced whole on reload; a cached remote store can replace it. */
export interface AppStore {
  byId(id: string): App | undefined;
  byKey(key: string): App | undefined;
  all(): readonly App[];
}

export class StaticAppStore implements AppStore {
  private readonly ids: ReadonlyMap<string, App>;
  private readonly keys: ReadonlyMap<string, App>;

  constructor(private readonly apps: readonly App[]) {
    this.ids = new Map(apps.map((app) => [app.id, app]));
    this.keys = new Map(apps.map((app) => [app.key, app]));
  }

  byId(id: string): App | undefined {
    return this.ids.get(id);
  }

  byKey(key: string): App | undefined {
    return this.keys.get(key);
  }

  all(): readonly App[] {
    return this.apps;
  }
}

/**
 * The configured apps, replaced whole when the configuration is reloaded (SIGHUP).
 * Readers look an app up on every use, so a replacement applies to the next
 * handshake, request or job; a connection keeps the app it was accepted with.
 */
export class SwappableAppStore implements AppStore {
  private current: StaticAppStore;

  constructor(apps: readonly App[]) {
    this.current = new StaticAppStore(apps);
  }

  replace(apps: readonly App[]): void {
    this.current = new StaticAppStore(apps);
  }

  byId(id: string): App | undefined {
    return this.current.byId(id);
  }

  byKey(key: string): App | undefined {
    return this.current.byKey(key);
  }

  all(): readonly App[] {
    return this.current.all();
  }
}
