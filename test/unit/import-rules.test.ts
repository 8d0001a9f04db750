import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

const root = new URL('../..', import.meta.url).pathname;
const checker = join(root, 'scripts/check-cycles.mjs');

function check(src: string): { code: number | null; output: string } {
  const run = spawnSync(process.execPath, [checker, src], { encoding: 'utf8' });
  return { code: run.status, output: `${run.stdout}${run.stderr}` };
}

/**
 * The layering rules of the import check (STYLE.md, Layout), each shown to fail on an
 * import planted into a copy of src/: a rule that cannot fail would guard nothing.
 */
describe('import rules', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'herald-imports-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A fresh copy of src/ with one extra module at `file` holding `text`. */
  function planted(name: string, file: string, text: string): string {
    const src = join(dir, name);
    cpSync(join(root, 'src'), src, { recursive: true });
    writeFileSync(join(src, file), text);
    return src;
  }

  it('passes on the tree as it is', () => {
    const { code, output } = check(join(root, 'src'));
    assert.equal(code, 0, output);
  });

  const cases: Array<{ rule: string; file: string; text: string }> = [
    { rule: 'notifications-above-transport', file: 'notifications/planted.ts', text: "import { GatewayPublisher } from '../gateway/publisher.js';\nexport const p = GatewayPublisher;\n" },
    { rule: 'notifications-above-transport', file: 'notifications/pipeline/planted.ts', text: "import type { RouteModule } from '../../http/server.js';\nexport type R = RouteModule;\n" },
    { rule: 'providers-gateway-apart', file: 'providers/apns/planted.ts', text: "import { Close } from '../../gateway/close-codes.js';\nexport const c = Close;\n" },
    { rule: 'providers-gateway-apart', file: 'gateway/planted.ts', text: "import type { Provider } from '../providers/provider.js';\nexport type P = Provider;\n" },
    { rule: 'daemon-without-client', file: 'notifications/status/planted.ts', text: "import type { NotifyResult } from '../../client/types.js';\nexport type N = NotifyResult;\n" },
    { rule: 'client-on-contract', file: 'client/planted.ts', text: "import { RedisStatusStore } from '../notifications/status/redis-status-store.js';\nexport const s = RedisStatusStore;\n" },
    { rule: 'contract-self-contained', file: 'notifications/contract/planted.ts', text: "import type { StatusStore } from '../status/status-store.js';\nexport type S = StatusStore;\n" },
    { rule: 'routes-in-http', file: 'webhooks/planted.ts', text: "import { sendError } from '../http/server.js';\nexport const e = sendError;\n" },
    { rule: 'folder cycle', file: 'queue/planted.ts', text: "import { NotificationWorker } from '../notifications/pipeline/worker.js';\nexport const w = NotificationWorker;\n" },
    { rule: 'import cycle', file: 'lib/planted.ts', text: "import { planted } from './planted-back.js';\nexport const x = planted;\n" },
  ];
  for (const [index, { rule, file, text }] of cases.entries()) {
    it(`${rule}: refuses a planted ${file}`, () => {
      const src = planted(`case-${index}`, file, text);
      if (rule === 'import cycle') writeFileSync(join(src, 'lib/planted-back.ts'), "import { x } from './planted.js';\nexport const planted = 1;\nexport const y = x;\n");
      const { code, output } = check(src);
      assert.equal(code, 1, output);
      assert.match(output, new RegExp(`^${rule}: .*planted`, 'm'));
    });
  }
});
