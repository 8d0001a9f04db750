import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

export const repoRoot = new URL('../../', import.meta.url).pathname;
/** The daemon `npm run build` writes. */
export const builtCli = join(repoRoot, 'dist/src/cli/main.js');

export interface SpawnedHerald {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly httpPort: number;
  /** The Prometheus port (metrics.enabled), or NaN. */
  readonly metricsPort: number;
  readonly baseUrl: string;
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves with the exit code or signal. */
  stop(timeoutMs?: number): Promise<number | string>;
}

/**
 * Spawns a built daemon on ports the OS picks and waits for its `listening` line. Unlike
 * the test helper it takes the daemon's path (to compare two builds in one run) and node
 * flags (`--cpu-prof`, which NODE_OPTIONS refuses), and keeps no log lines in memory.
 */
export async function spawnHerald(options: { config: Record<string, unknown>; cli?: string; execArgv?: string[]; env?: Record<string, string>; timeoutMs?: number }): Promise<SpawnedHerald> {
  const config = {
    ...options.config,
    server: { host: '127.0.0.1', port: 0, ...(options.config.server as object | undefined) },
    metrics: { host: '127.0.0.1', port: 0, ...(options.config.metrics as object | undefined) },
    log: { format: 'json', level: 'info', ...(options.config.log as object | undefined) },
  };
  const file = join(mkdtempSync(join(tmpdir(), 'herald-bench-')), 'herald.yaml');
  writeFileSync(file, stringify(config));
  const child = spawn(process.execPath, [...(options.execArgv ?? []), options.cli ?? builtCli, 'start', '--config', file], {
    cwd: repoRoot,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const timeoutMs = options.timeoutMs ?? 30_000;
  const early: string[] = [];
  const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`herald did not report listening within ${timeoutMs} ms:\n${early.join('\n')}`)), timeoutMs);
    let buffer = '';
    const onData = (chunk: string): void => {
      buffer += chunk;
      let index: number;
      while ((index = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, index);
        buffer = buffer.slice(index + 1);
        // Warnings and errors are worth seeing in a bench run; the rest is dropped.
        if (/"level":(40|50|60)/.test(line) || !line.startsWith('{')) process.stderr.write(`[herald ${child.pid}] ${line}\n`);
        if (early.length < 200) early.push(line);
        if (line.includes('"msg":"listening"')) {
          clearTimeout(timer);
          resolve(JSON.parse(line) as Record<string, unknown>);
        }
      }
    };
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', onData);
    }
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`herald exited (${code}) before listening:\n${early.join('\n')}`));
    });
  });
  if (child.pid === undefined) throw new Error('herald has no pid');
  const httpPort = Number(listening.httpPort);
  return {
    child,
    pid: child.pid,
    httpPort,
    metricsPort: Number(listening.metricsPort),
    baseUrl: `http://127.0.0.1:${httpPort}`,
    async stop(stopTimeoutMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}
