import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { freePort } from '../helpers/free-port.js';
import { cliPath, repoRoot } from '../helpers/herald-process.js';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI without any HERALD_* variable of the test environment. */
function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('HERALD_')));
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: repoRoot, env: { ...clean, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const TOKEN = 'a1'.repeat(32);

describe('herald send: arguments', () => {
  const refused: Array<[string, string[], RegExp]> = [
    ['no --app', ['--token', TOKEN, '--title', 'T'], /--app is required/],
    ['nothing to send', ['--app', 'app-id'], /nothing to send/],
    ['a token without a payload', ['--app', 'app-id', '--token', TOKEN], /--token needs --title\/--body or --payload/],
    ['--payload and --title together', ['--app', 'app-id', '--token', TOKEN, '--title', 'T', '--payload', '{}'], /not both/],
    ['--payload that is not an object', ['--app', 'app-id', '--token', TOKEN, '--payload', '[1]'], /--payload must be a JSON object/],
    ['--title without a token', ['--app', 'app-id', '--title', 'T'], /need at least one --token/],
    ['--channel without --event', ['--app', 'app-id', '--channel', 'news'], /--channel, --event and --data go together/],
    ['--event without --data', ['--app', 'app-id', '--channel', 'news', '--event', 'e'], /--channel, --event and --data go together/],
    ['--data that is not JSON', ['--app', 'app-id', '--channel', 'news', '--event', 'e', '--data', 'hello'], /--data must be JSON/],
    ['an unknown flag', ['--app', 'app-id', '--bogus'], /bogus/],
    ['--key without --secret', ['--app', 'app-id', '--channel', 'c', '--event', 'e', '--data', '{}', '--key', 'k'], /--key and --secret go together/],
    ['an app not in the configuration', ['--app', 'nope', '--channel', 'c', '--event', 'e', '--data', '{}'], /app 'nope' is not in the configuration/],
    ['a bad --url', ['--app', 'app-id', '--channel', 'c', '--event', 'e', '--data', '{}', '--url', 'ftp://x'], /--url must be http\(s\)/],
    ['a bad --timeout', ['--app', 'app-id', '--channel', 'c', '--event', 'e', '--data', '{}', '--timeout', '0'], /--timeout must be a positive number/],
    ['an unreadable --tokens-file', ['--app', 'app-id', '--tokens-file', '/nonexistent/tokens', '--title', 'T'], /cannot read \/nonexistent\/tokens: ENOENT/],
  ];
  for (const [what, args, message] of refused) {
    it(`refuses ${what} with exit 2 and says why`, async () => {
      const res = await runCli(['send', ...args]);
      assert.equal(res.code, 2, res.stderr);
      assert.match(res.stderr, message);
      assert.equal(res.stdout, '');
    });
  }

  it('says plainly when Herald cannot be reached (exit 1)', async () => {
    const port = await freePort();
    const res = await runCli(['send', '--app', 'app-id', '--channel', 'c', '--event', 'e', '--data', '{}', '--url', `http://127.0.0.1:${port}`]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, new RegExp(`Herald at http://127\\.0\\.0\\.1:${port} is unreachable: ECONNREFUSED`));
  });

  it('documents every flag and the exit codes in --help', async () => {
    const res = await runCli(['send', '--help']);
    assert.equal(res.code, 0);
    for (const flag of ['--app', '--token', '--tokens-file', '--title', '--body', '--payload', '--channel', '--event', '--data', '--url', '--key', '--secret', '--config', '--no-wait', '--timeout', '--json']) {
      assert.match(res.stdout, new RegExp(`${flag}\\b`), flag);
    }
    assert.match(res.stdout, /Exit status: 0 completed/);
  });
});
