import type { AppConfig } from '../config/load.js';

export type App = AppConfig;

/** Looks apps up by id (HTTP API) and by key (WebSocket). Static from config; a cached remote store can replace it. */
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
