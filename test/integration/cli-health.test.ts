import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { probeUrl } from '../../src/cli/health.js';
import { freePort } from '../helpers/free-port.js';
import { runCli, startHeraldProcess } from '../helpers/herald-process.js';
import type { HeraldProcess } from '../helpers/herald-process.js';

// The container HEALTHCHECK used to read HERALD_PORT only: a port set in the config file
// (or a host other than loopback) made a healthy container report unhealthy.

describe('probeUrl', () => {
  it('asks loopback when the server listens on every interface, else the configured host', () => {
    assert.equal(probeUrl({ host: '0.0.0.0', port: 7001 }), 'http://127.0.0.1:7001/health');
    assert.equal(probeUrl({ host: '::', port: 7001 }), 'http://[::1]:7001/health');
    assert.equal(probeUrl({ host: '10.1.2.3', port: 80 }), 'http://10.1.2.3:80/health');
  });
});

describe('herald health', () => {
  let herald: HeraldProcess;
  let port: number;
  let dir: string;
  let configFile: string;

  before(async () => {
    port = await freePort();
    // Every interface and a port from the config file only, as in a container with a mounted config.
    herald = await startHeraldProcess({ config: { server: { host: '0.0.0.0', port } } });
    dir = mkdtempSync(join(tmpdir(), 'herald-health-'));
    configFile = join(dir, 'herald.yaml');
    writeFileSync(configFile, stringify({ server: { host: '0.0.0.0', port } }));
  });

  after(async () => {
    await herald?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('exits 0 for a daemon whose port comes from the config file (HERALD_CONFIG), without HERALD_PORT', async () => {
    const result = await runCli(['health'], { HERALD_CONFIG: configFile });
    assert.equal(result.code, 0, result.stderr);
  });

  it('follows HERALD_HOST and HERALD_PORT like start does', async () => {
    const result = await runCli(['health'], { HERALD_HOST: '127.0.0.1', HERALD_PORT: String(port) });
    assert.equal(result.code, 0, result.stderr);
  });

  it('exits 1 and names the address when nothing answers there', async () => {
    const closed = await freePort();
    const result = await runCli(['health'], { HERALD_PORT: String(closed) });
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`127\\.0\\.0\\.1:${closed}/health`));
  });
});
