import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const entry = new URL('../../dist/src/client/index.js', import.meta.url);
/** The daemon's heavy dependencies, which a producer over HTTP never needs. */
const daemonOnly = ['bullmq', 'ioredis', 'fastify', 'ws'];

// Resolve hooks (off the main thread) that refuse the daemon's packages, as if they were not installed,
// and report every bare specifier that was asked for.
const hooks = `
const hidden = new Set(${JSON.stringify(daemonOnly)});
export async function resolve(specifier, context, next) {
  if (!specifier.startsWith('.') && !specifier.startsWith('node:') && !specifier.includes(':')) process.stderr.write('resolved ' + specifier + '\\n');
  if (hidden.has(specifier.split('/')[0])) throw Object.assign(new Error('hidden: ' + specifier), { code: 'ERR_MODULE_NOT_FOUND' });
  return next(specifier, context);
}`;
const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`;

/** Runs a snippet as an ES module in a child node, from the package root, with the daemon's packages hidden. */
async function withDaemonPackagesHidden(source: string): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', source], { cwd: root, env: { ...process.env, NODE_OPTIONS: '' } });
}

describe('herald/client without the daemon', { skip: existsSync(entry) ? false : 'dist/ not built (npm run build)' }, () => {
  it('imports and sends over HTTP with bullmq, ioredis, fastify and ws missing (it used to load BullMQ and ioredis at import)', async () => {
    const { stdout, stderr } = await withDaemonPackagesHidden(`
      const { HeraldClient, HeraldClientError } = await import('herald/client');
      // A server that answers every request 202, enough to see a whole HTTP send.
      const http = await import('node:http');
      const server = http.createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(202, { 'content-type': 'application/json' }); res.end('{"id":"n1"}'); }); });
      await new Promise((r) => server.listen(0, '127.0.0.1', r));
      const client = new HeraldClient({ url: 'http://127.0.0.1:' + server.address().port, appId: 'a', key: 'k', secret: 's' });
      const result = await client.send({ id: 'n1', realtime: { channels: ['c'], event: 'e', data: {} } });
      await client.close();
      server.close();
      console.log(JSON.stringify({ result, error: typeof HeraldClientError }));
    `);
    const resolved = stderr.split('\n').filter((l) => l.startsWith('resolved ')).map((l) => l.slice('resolved '.length));
    assert.deepEqual(resolved.filter((s) => daemonOnly.includes(s.split('/')[0] ?? '')), [], 'no daemon package was asked for');
    const out = JSON.parse(stdout.trim()) as { result: { id: string }; error: string };
    assert.equal(out.result.id, 'n1');
    assert.equal(out.error, 'function');
  });

  it('still refuses bad Redis settings at construction, and loads the Redis transport only when used', async () => {
    const { stdout } = await withDaemonPackagesHidden(`
      const { HeraldClient } = await import('herald/client');
      const refused = [];
      try { new HeraldClient({ redis: 'http://127.0.0.1:6379', app: 'a' }); } catch (err) { refused.push(err.code); }
      try { new HeraldClient({ redis: { mode: 'cluster', clusterNodes: [{ host: 'h', port: 1 }] }, app: 'a' }); } catch (err) { refused.push(err.code); }
      // Constructing is fine; the first call needs the transport, whose packages are missing here.
      const client = new HeraldClient({ redis: 'redis://127.0.0.1:9/0', app: 'a' });
      let sent;
      try { await client.notify({ realtime: { channels: ['c'], event: 'e', data: {} } }); } catch (err) { sent = err.code + ': ' + err.message; }
      await client.close();
      console.log(JSON.stringify({ refused, sent }));
    `);
    const out = JSON.parse(stdout.trim()) as { refused: string[]; sent: string };
    assert.deepEqual(out.refused, ['invalid', 'invalid']);
    assert.match(out.sent, /^unavailable: .*(bullmq|ioredis)/);
  });
});
