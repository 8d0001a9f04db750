import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli, startHeraldProcess } from '../helpers/herald-process.js';
import { waitFor } from '../helpers/wait.js';

describe('process lifecycle', () => {
  it('drains on SIGTERM: /ready fails, then it exits 0', async () => {
    const herald = await startHeraldProcess({ config: { server: { drainDelayMs: 1500 } } });
    herald.child.kill('SIGTERM');
    await waitFor(async () => (await fetch(`${herald.baseUrl}/ready`)).status === 503, { what: '/ready to report draining' });
    assert.equal(await herald.exited, 0);
    const messages = herald.logs().map((l) => l.msg);
    assert.ok(messages.includes('shutting down'));
    assert.ok(messages.includes('stopped'));
  });

  it('exits 0 on SIGINT too', async () => {
    const herald = await startHeraldProcess();
    assert.equal(await herald.stop('SIGINT'), 0);
  });

  it('exits at once on a second signal', async () => {
    const herald = await startHeraldProcess({ config: { server: { drainDelayMs: 60_000 } } });
    herald.child.kill('SIGTERM');
    await waitFor(() => herald.logs().some((l) => l.msg === 'shutting down'), { what: 'first signal to be handled' });
    herald.child.kill('SIGTERM');
    assert.equal(await herald.exited, 130);
    assert.ok(herald.logs().some((l) => l.msg === 'second signal: exiting at once'));
  });

  it('refuses to start on a bad config, naming key, problem and file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-bad-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'server:\n  port: 123456\n');
    const result = await runCli(['start', '--config', file]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /server\.port/);
    assert.match(result.stderr, /65535/);
    assert.ok(result.stderr.includes(file));
  });

  it('fails to start when the port is taken, with a clear message', async () => {
    const first = await startHeraldProcess();
    const result = await runCli(['start'], { HERALD_PORT: String(first.httpPort), HERALD_METRICS_PORT: '0', HERALD_LOG_FORMAT: 'json' });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /start-up failed: .*EADDRINUSE/);
    await first.stop();
  });

  it('warns loudly about demo credentials on a non-loopback address', async () => {
    const herald = await startHeraldProcess({ env: { HERALD_HOST: '0.0.0.0' } });
    const warning = herald.logs().find((l) => l.level === 40 && String(l.msg).includes('DEMO CREDENTIALS'));
    assert.ok(warning, 'expected a warning about demo credentials');
    await herald.stop();
  });
});

describe('CLI', () => {
  it('prints help for herald and each command', async () => {
    const top = await runCli(['--help']);
    assert.equal(top.code, 0);
    assert.match(top.stdout, /Commands:[\s\S]*start[\s\S]*check[\s\S]*send/);
    for (const command of ['start', 'check', 'send']) {
      const res = await runCli([command, '--help']);
      assert.equal(res.code, 0, `${command} --help: ${res.stderr}`);
      assert.match(res.stdout, new RegExp(`Usage: herald ${command}`));
    }
  });

  it('rejects an unknown command and unknown flags', async () => {
    const res = await runCli(['explode']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /unknown command 'explode'/);
    const flag = await runCli(['check', '--bogus']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /bogus/);
  });

  it('check validates the example configuration and lists its apps', async () => {
    const res = await runCli(['check', '--config', 'config/herald.example.yaml']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /configuration ok/);
    assert.match(res.stdout, /app app-id: key app-key/);
    assert.doesNotMatch(res.stdout, /app-secret/);
  });

  it('check exits non-zero on a bad config', async () => {
    const res = await runCli(['check'], { HERALD_REDIS_URL: 'mysql://nope' });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /redis\.url.*env HERALD_REDIS_URL/);
  });
});
