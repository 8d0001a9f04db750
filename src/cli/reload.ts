import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { isHeraldError } from '../errors.js';
import { readPidFile } from './pid-file.js';

export const reloadUsage = `Usage: herald reload [--pid PID | --pid-file FILE | --config FILE]

Sends SIGHUP to a running Herald, which re-reads its configuration (file, env, secret
files) and applies the apps: new ones are served, removed or disabled ones have their
sockets closed (4001 / 4003), changed APNs credentials are swapped in. A configuration
that does not load is refused and the running one kept. The outcome is in the daemon's
log ('config reloaded' / 'config reload refused') and herald_config_reloads_total.

  --pid PID        the process to signal
  --pid-file FILE  a file holding its pid (server.pidFile)
  --config FILE    read server.pidFile from this configuration (also HERALD_CONFIG)`;

export function runReload(args: string[]): number {
  let values: { pid?: string; 'pid-file'?: string; config?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args, options: { pid: { type: 'string' }, 'pid-file': { type: 'string' }, config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (err) {
    console.error(`herald reload: ${(err as Error).message}\n\n${reloadUsage}`);
    return 2;
  }
  if (values.help) {
    console.log(reloadUsage);
    return 0;
  }
  const target = findPid(values);
  if ('error' in target) {
    console.error(`herald reload: ${target.error}`);
    return 2;
  }
  try {
    process.kill(target.pid, 'SIGHUP');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    console.error(`herald reload: cannot signal process ${target.pid}: ${code === 'ESRCH' ? 'no such process' : code === 'EPERM' ? 'permission denied' : String(code)}`);
    return 1;
  }
  console.log(`herald reload: sent SIGHUP to ${target.pid}; see its log for the outcome`);
  return 0;
}

function findPid(values: { pid?: string; 'pid-file'?: string; config?: string }): { pid: number } | { error: string } {
  const given = [values.pid, values['pid-file'], values.config].filter((v) => v !== undefined).length;
  if (given > 1) return { error: 'give one of --pid, --pid-file or --config' };
  if (values.pid !== undefined) return /^[1-9]\d{0,9}$/.test(values.pid) ? { pid: Number(values.pid) } : { error: `--pid must be a process id, got '${values.pid}'` };
  if (values['pid-file'] !== undefined) return readPidFile(values['pid-file']);
  let pidFile: string | undefined;
  try {
    pidFile = loadConfig({ file: values.config }).server.pidFile;
  } catch (err) {
    if (isHeraldError(err)) return { error: err.message };
    throw err;
  }
  return pidFile === undefined ? { error: 'no --pid or --pid-file, and the configuration sets no server.pidFile' } : readPidFile(pidFile);
}
