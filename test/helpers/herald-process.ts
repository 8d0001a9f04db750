import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

export const repoRoot = new URL('../../', import.meta.url).pathname;
export const cliPath = join(repoRoot, 'dist/src/cli/main.js');

export interface HeraldProcess {
  readonly child: ChildProcess;
  readonly httpPort: number;
  readonly metricsPort: number;
  readonly baseUrl: string;
  /** The YAML file it was started with (`--config`). */
  readonly configFile: string;
  /** Rewrites that file with `config`, under the same defaults as at start (ports 0, JSON logs); for reload tests. */
  rewriteConfig(config: Record<string, unknown>): void;
  /** Every stdout/stderr line so far (JSON log lines and banners). */
  readonly lines: string[];
  /** Parsed JSON log lines so far. */
  logs(): Array<Record<string, unknown>>;
  /** Sends `signal` and resolves with the exit code (or signal name). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | string>;
  exited: Promise<number | string>;
}

/**
 * For daemons whose RSS a test bounds: Node 24 gives V8's young generation 64 MB
 * semi-spaces where Node 20 gives 16 MB, which moves RSS by tens of MB without any
 * retained memory. Pinning it (as docs/performance.md recommends for Node 24) makes the
 * bound about what the daemon holds, on either version.
 */
export const PINNED_YOUNG_GENERATION = '--max-semi-space-size=16';

/**
 * Spawns the built daemon (`dist/`, built by `npm test`) with the given config object
 * (written to a temp YAML file) on ports chosen by the OS, and waits for its 'listening' line.
 */
export async function startHeraldProcess(
  options: { config?: Record<string, unknown>; env?: Record<string, string>; args?: string[]; timeoutMs?: number } = {},
): Promise<HeraldProcess> {
  const withDefaults = (given: Record<string, unknown> | undefined): Record<string, unknown> => ({
    ...given,
    server: { host: '127.0.0.1', port: 0, ...(given?.server as object | undefined) },
    metrics: { host: '127.0.0.1', port: 0, ...(given?.metrics as object | undefined) },
    log: { format: 'json', level: 'info', ...(given?.log as object | undefined) },
  });
  const dir = mkdtempSync(join(tmpdir(), 'herald-test-'));
  const file = join(dir, 'herald.yaml');
  writeFileSync(file, stringify(withDefaults(options.config)));
  const child = spawn(process.execPath, [cliPath, 'start', '--config', file, ...(options.args ?? [])], {
    cwd: repoRoot,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const listening = new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => {
      // A daemon that never listened is not left running behind the failed test.
      child.kill('SIGKILL');
      reject(new Error(`herald did not report listening within ${options.timeoutMs ?? 60_000} ms:\n${lines.join('\n')}`));
    }, options.timeoutMs ?? 60_000);
    const onLine = (line: string): void => {
      lines.push(line);
      if (process.env.HERALD_TEST_ECHO) process.stderr.write(`[herald ${child.pid}] ${line}\n`);
      if (line.includes('"msg":"listening"')) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as Record<string, unknown>);
      }
    };
    for (const stream of [child.stdout, child.stderr]) {
      let buffer = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        buffer += chunk;
        let index: number;
        while ((index = buffer.indexOf('\n')) >= 0) {
          onLine(buffer.slice(0, index));
          buffer = buffer.slice(index + 1);
        }
      });
    }
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`herald exited (${code}) before listening:\n${lines.join('\n')}`));
    });
  });
  const ready = await listening;
  const httpPort = Number(ready.httpPort);
  const metricsPort = Number(ready.metricsPort);
  return {
    child,
    httpPort,
    metricsPort,
    baseUrl: `http://127.0.0.1:${httpPort}`,
    configFile: file,
    rewriteConfig: (config) => writeFileSync(file, stringify(withDefaults(config))),
    lines,
    exited,
    logs: () =>
      lines.flatMap((line) => {
        if (!line.startsWith('{')) return [];
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    async stop(signal = 'SIGTERM', timeoutMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI to completion without the test environment's HERALD_* variables, plus `env`; `input` is its stdin. */
export function runCli(args: string[], env: Record<string, string> = {}, input?: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('HERALD_')));
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: repoRoot, env: { ...clean, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    if (input !== undefined) child.stdin.end(input);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
