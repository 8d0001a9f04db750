// Loaded with NODE_OPTIONS=--import (which refuses --cpu-prof): profiles the process
// from start to exit and writes BENCH_CPU_PROF/herald-<pid>.cpuprofile.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.BENCH_CPU_PROF;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 200 });
  session.post('Profiler.start');
  // A same-thread session answers synchronously, so this completes inside 'exit'.
  process.on('exit', () => {
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(join(dir, `herald-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
