import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { settings } from '#server';
import { repoRoot } from './support/nova-process.js';

const k8sDir = join(repoRoot, 'docker', 'k8s');

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name: string; containerPort: number }[];
  readinessProbe?: { grpc?: { port: number; service?: string } };
  livenessProbe?: { grpc?: { port: number; service?: string } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[] } };
}

interface PodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; seccompProfile?: { type: string } };
  containers: Container[];
}

/** The base's resources, as its kustomization lists them. */
const kustomization = parse(readFileSync(join(k8sDir, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
const manifests: Manifest[] = kustomization.resources.flatMap((file) =>
  parseAllDocuments(readFileSync(join(k8sDir, file), 'utf8')).map((document) => document.toJS() as Manifest),
);
const find = (kind: string, name: string): Manifest => {
  const found = manifests.find((manifest) => manifest.kind === kind && manifest.metadata.name === name);
  assert.ok(found, `${kind} ${name}`);
  return found;
};
const podOf = (manifest: Manifest): PodSpec => (manifest['spec'] as { template: { spec: PodSpec } }).template.spec;
const novaEnvironment = new Set(Object.values(settings).map((setting) => setting.env));

describe('docker/k8s: the Kubernetes manifests', () => {
  it('are valid against the Kubernetes schemas (kubernetes-models)', async () => {
    assert.ok(manifests.length >= 14);
    for (const manifest of manifests) {
      // "apps/v1" → kubernetes-models/apps/v1/Deployment; the core group "v1" → kubernetes-models/v1/Service.
      const module = (await import(`kubernetes-models/${manifest.apiVersion}/${manifest.kind}`)) as Record<
        string,
        new (data: unknown) => { validate(): void }
      >;
      const Model = module[manifest.kind];
      assert.ok(Model, `a model of ${manifest.apiVersion} ${manifest.kind}`);
      assert.doesNotThrow(() => new Model(manifest).validate(), `${manifest.kind} ${manifest.metadata.name}`);
    }
  });

  it('build with `kubectl kustomize docker/k8s`', (t) => {
    const kubectl = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((path) => existsSync(path));
    if (!kubectl) {
      t.skip('kubectl is not on this machine: the kustomize build is not checked (the schemas above are)');
      return;
    }
    const built = spawnSync(kubectl, ['kustomize', k8sDir], { encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    const kinds = parseAllDocuments(built.stdout).map((document) => {
      const manifest = document.toJS() as Manifest & { metadata: { namespace?: string } };
      if (manifest.kind !== 'Namespace') assert.equal(manifest.metadata.namespace, 'nova', manifest.metadata.name);
      return manifest.kind;
    });
    assert.equal(kinds.length, manifests.length);
  });

  it('run the migration once, then the three planes from one image with grpc probes against grpc.health.v1', () => {
    const job = find('Job', 'nova-migrate');
    assert.deepEqual(podOf(job).containers[0]!.args, ['migrate']);
    const secret = find('Secret', 'nova-database') as Manifest & { stringData: Record<string, string> };
    assert.match(secret.stringData['DATABASE_URL'] ?? '', /^postgres:\/\//);
    const config = find('ConfigMap', 'nova-config') as Manifest & { data: Record<string, string> };
    for (const key of Object.keys(config.data)) assert.ok(novaEnvironment.has(key), `${key} is a Nova setting`);
    assert.equal(config.data['NOVA_AUTH'], 'required', 'pods listen beyond loopback: auth on');

    for (const [name, mode] of [
      ['nova-control-plane', 'controlplane'],
      ['nova-dataplane', 'dataplane'],
      ['nova-router', 'router'],
    ] as const) {
      const pod = podOf(find('Deployment', name));
      const [container] = pod.containers;
      assert.ok(container);
      assert.equal(container.image, 'nova');
      assert.deepEqual(container.args, ['daemon', '--mode', mode]);
      assert.deepEqual(container.readinessProbe?.grpc, { port: 9090 }, `${name} readiness`);
      assert.deepEqual(container.livenessProbe?.grpc, { port: 9090, service: 'liveness' }, `${name} liveness`);
      assert.ok((pod.terminationGracePeriodSeconds ?? 30) > 15 + 5, `${name}: longer than the drain and the pause`);
      assert.equal(pod.securityContext?.runAsNonRoot, true, name);
      assert.equal(container.securityContext?.allowPrivilegeEscalation, false, name);
      assert.deepEqual(container.securityContext?.capabilities?.drop, ['ALL'], name);
      assert.ok(container.resources?.requests?.['cpu'] && container.resources.limits?.['memory'], `${name} resources`);
      assert.deepEqual(
        container.envFrom?.map((from) => from.configMapRef?.name ?? from.secretRef?.name),
        ['nova-config', 'nova-database'],
      );
      for (const variable of container.env ?? []) {
        if (variable.name.startsWith('NOVA_')) assert.ok(novaEnvironment.has(variable.name), variable.name);
      }
      if (mode !== 'router') {
        const env = Object.fromEntries((container.env ?? []).map((variable) => [variable.name, variable]));
        assert.equal(env['POD_IP']?.valueFrom?.fieldRef?.fieldPath, 'status.podIP');
        assert.equal(env['NOVA_ADVERTISE_ADDR']?.value, '$(POD_IP):9090', `${name} advertises its pod IP`);
      }
    }
  });

  it('serve clients through the router Service on 9090, data planes through a headless one; scale and keep up', () => {
    const router = find('Service', 'nova-router') as Manifest & {
      spec: { clusterIP?: string; ports: { port: number }[] };
    };
    assert.equal(router.spec.clusterIP, undefined);
    assert.ok(router.spec.ports.some((port) => port.port === 9090));
    const nodes = find('Service', 'nova-dataplane') as Manifest & { spec: { clusterIP?: string } };
    assert.equal(nodes.spec.clusterIP, 'None');
    for (const name of ['nova-router', 'nova-dataplane']) {
      const hpa = find('HorizontalPodAutoscaler', name) as Manifest & {
        spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number };
      };
      assert.deepEqual(hpa.spec.scaleTargetRef.name, name);
      assert.ok(hpa.spec.minReplicas >= 2);
    }
    for (const name of ['nova-router', 'nova-dataplane', 'nova-control-plane']) {
      const budget = find('PodDisruptionBudget', name) as Manifest & {
        spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } };
      };
      assert.deepEqual(budget.spec.selector.matchLabels, { 'app.kubernetes.io/name': name });
    }
  });
});
