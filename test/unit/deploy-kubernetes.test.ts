import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { configSchema } from '../../src/config/schema.js';

// No cluster runs here, so the manifests are checked against each other and against
// what Herald reads: the probe paths it serves, the config schema, the files it opens.

interface Manifest {
  kind: string;
  metadata: { name: string };
  [key: string]: unknown;
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  env?: Array<{ name: string; value?: string }>;
  ports: Array<{ name: string; containerPort: number }>;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
  volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface PodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; fsGroup?: number; seccompProfile?: { type?: string } };
  containers: Container[];
  volumes: Array<{ name: string; configMap?: { name: string }; secret?: { secretName: string; defaultMode?: number } }>;
}

const dir = 'deploy/kubernetes';
// Kubernetes reads YAML 1.1, where 0440 is octal.
const manifests = readdirSync(dir)
  .filter((name) => name.endsWith('.yaml'))
  .flatMap((name) => parseAllDocuments(readFileSync(join(dir, name), 'utf8'), { version: '1.1' }).map((doc) => doc.toJS() as Manifest));
const one = <T,>(kind: string): T & Manifest => {
  const found = manifests.filter((m) => m.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0] as T & Manifest;
};

const deployment = one<{ spec: { replicas: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } } }>('Deployment');
const pod = deployment.spec.template.spec;
const podLabels = deployment.spec.template.metadata.labels;
const container = pod.containers[0]!;
const configMap = one<{ data: Record<string, string> }>('ConfigMap');
const secrets = manifests.filter((m) => m.kind === 'Secret') as Array<Manifest & { stringData?: Record<string, string>; data?: Record<string, string> }>;
const configText = configMap.data['herald.yaml'] ?? '';
const config = parse(configText) as { server: { port: number; drainDelayMs: number; shutdownGraceMs: number }; metrics: { port: number } };

const subset = (labels: Record<string, string>, of: Record<string, string>) => Object.entries(labels).every(([k, v]) => of[k] === v);
const portNamed = (name: string | number) => container.ports.find((p) => p.name === name || p.containerPort === name)?.containerPort;
const envValue = (name: string) => container.env?.find((e) => e.name === name)?.value;

/** Resolves a path inside the container to the Secret key or ConfigMap key mounted there. */
function mountedFile(path: string): { kind: 'Secret' | 'ConfigMap'; name: string; key: string } | undefined {
  for (const mount of container.volumeMounts) {
    if (dirname(path) !== mount.mountPath) continue;
    const volume = pod.volumes.find((v) => v.name === mount.name);
    const key = path.slice(mount.mountPath.length + 1);
    if (volume?.secret) return { kind: 'Secret', name: volume.secret.secretName, key };
    if (volume?.configMap) return { kind: 'ConfigMap', name: volume.configMap.name, key };
  }
  return undefined;
}

describe('deploy/kubernetes', () => {
  it('holds a Deployment, a Service, a PodDisruptionBudget, the ConfigMap and the Secrets it mounts', () => {
    for (const kind of ['Deployment', 'Service', 'PodDisruptionBudget', 'ConfigMap']) assert.ok(manifests.some((m) => m.kind === kind), kind);
    for (const volume of pod.volumes) {
      if (volume.secret) assert.ok(secrets.some((s) => s.metadata.name === volume.secret?.secretName), `Secret ${volume.secret.secretName}`);
      if (volume.configMap) assert.equal(volume.configMap.name, configMap.metadata.name);
    }
    assert.ok(subset(deployment.spec.selector.matchLabels, podLabels));
  });

  it('the ConfigMap holds a configuration Herald accepts, read from the path HERALD_CONFIG names', () => {
    const parsed = configSchema.safeParse(parse(configText));
    assert.ok(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues));
    const file = mountedFile(envValue('HERALD_CONFIG') ?? '');
    assert.deepEqual(file, { kind: 'ConfigMap', name: configMap.metadata.name, key: 'herald.yaml' });
  });

  it('every file the configuration and environment name is a key of a mounted Secret, and no secret value sits in the ConfigMap', () => {
    const paths = [...configText.matchAll(/\/run\/secrets\/[\w./-]+/g)].map((m) => m[0]);
    paths.push(...(container.env ?? []).filter((e) => e.name.endsWith('_FILE')).map((e) => e.value ?? ''));
    assert.ok(paths.length >= 6, `files referenced: ${paths.join(', ')}`);
    for (const path of paths) {
      const file = mountedFile(path);
      assert.equal(file?.kind, 'Secret', `${path} is mounted from a Secret`);
      const secret = secrets.find((s) => s.metadata.name === file?.name);
      assert.ok(secret && file && file.key in { ...secret.data, ...secret.stringData }, `${path}: Secret ${file?.name} has key ${file?.key}`);
    }
    assert.doesNotMatch(configText, /^\s*(secret|passphrase|url):/m, 'secrets come from files, not the ConfigMap');
  });

  it('secret volumes are read-only, not world-readable, and readable by the non-root user through fsGroup', () => {
    assert.equal(pod.securityContext?.runAsNonRoot, true);
    assert.ok(pod.securityContext?.fsGroup !== undefined);
    for (const volume of pod.volumes.filter((v) => v.secret)) {
      const mode = volume.secret?.defaultMode;
      assert.ok(mode !== undefined && (mode & 0o007) === 0, `${volume.name}: defaultMode ${mode?.toString(8)} has no bits for others`);
      assert.equal(container.volumeMounts.find((m) => m.name === volume.name)?.readOnly, true, `${volume.name} mounted read-only`);
    }
    assert.equal(container.securityContext?.allowPrivilegeEscalation, false);
  });

  it('pods run under the runtime\'s default seccomp profile, as Pod Security "restricted" requires', () => {
    assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault');
  });

  it('readiness probes /ready and liveness probes /health on the HTTP port Herald listens on', () => {
    assert.equal(container.readinessProbe?.httpGet?.path, '/ready');
    assert.equal(container.livenessProbe?.httpGet?.path, '/health');
    assert.equal(portNamed(container.readinessProbe.httpGet.port), config.server.port);
    assert.equal(portNamed(container.livenessProbe.httpGet.port), config.server.port);
    assert.equal(portNamed('metrics'), config.metrics.port);
  });

  it('preStop waits before SIGTERM, and the grace period covers preStop + drain delay + shutdown grace', () => {
    const preStop = container.lifecycle?.preStop;
    const seconds = preStop?.sleep?.seconds ?? Number(preStop?.exec?.command.at(-1));
    assert.ok(seconds > 0, 'preStop sleeps');
    if (preStop?.exec) assert.equal(preStop.exec.command[0], 'sleep', 'the image has coreutils sleep; no shell needed');
    const needed = seconds + (config.server.drainDelayMs + config.server.shutdownGraceMs) / 1000;
    assert.ok(config.server.drainDelayMs > 0);
    assert.ok((pod.terminationGracePeriodSeconds ?? 30) > needed, `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} > ${needed}`);
  });

  it('the Service and the PodDisruptionBudget select the pods, and the budget still lets a drain proceed', () => {
    const service = one<{ spec: { selector: Record<string, string>; ports: Array<{ targetPort: string | number }> } }>('Service');
    assert.ok(subset(service.spec.selector, podLabels));
    for (const port of service.spec.ports) assert.ok(portNamed(port.targetPort), `targetPort ${port.targetPort}`);
    assert.ok(service.spec.ports.some((p) => portNamed(p.targetPort) === config.server.port));
    const pdb = one<{ spec: { minAvailable?: number; maxUnavailable?: number; selector: { matchLabels: Record<string, string> } } }>('PodDisruptionBudget');
    assert.ok(subset(pdb.spec.selector.matchLabels, podLabels));
    assert.ok(pdb.spec.minAvailable !== undefined && pdb.spec.minAvailable >= 1 && pdb.spec.minAvailable < deployment.spec.replicas);
  });
});
