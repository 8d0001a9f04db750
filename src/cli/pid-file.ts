import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Logger } from '../log/logger.js';

/** For `herald reload`; a file that cannot be written is a warning (reload still works with --pid). */
export function writePidFile(path: string, log: Logger): void {
  try {
    writeFileSync(path, `${process.pid}\n`);
  } catch (err) {
    log.warn({ pidFile: path, code: (err as NodeJS.ErrnoException).code }, 'cannot write the pid file');
  }
}

/** Only our own: a newer process may have written its pid there meanwhile. */
export function removePidFile(path: string): void {
  try {
    if (readFileSync(path, 'utf8').trim() === String(process.pid)) rmSync(path);
  } catch {
    // Gone already, or unreadable: nothing of ours to remove.
  }
}

/** The pid in a pid file, or a reason it has none. */
export function readPidFile(path: string): { pid: number } | { error: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    return { error: `cannot read pid file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}` };
  }
  return /^[1-9]\d{0,9}$/.test(text) ? { pid: Number(text) } : { error: `pid file ${path} holds no process id` };
}
