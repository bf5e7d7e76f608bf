/** deploy/kubernetes: the manifests against each other and against the server they run. */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { FAKE_SECRETS, isRecord, knownSettings, ROOT, SECRET_SETTINGS, yamlDocuments } from './helpers.js';

const DIR = 'deploy/kubernetes';

interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

interface Probe {
  httpGet?: { path: string; port: number | string };
}

interface Container {
  name: string;
  image: string;
  ports: Array<{ name?: string; containerPort: number }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  env?: Array<{ name: string; value?: string }>;
  resources: { requests: { cpu: string; memory: string }; limits?: { cpu?: string; memory?: string } };
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}

interface PodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
  volumes?: Array<{ name: string; emptyDir?: unknown }>;
}

interface Deployment extends Resource {
  spec: { replicas: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
}

const files = readdirSync(`${ROOT}${DIR}`).filter((f) => /\.ya?ml$/.test(f));
const resources: Array<Resource & { file: string }> = files.flatMap((file) =>
  yamlDocuments(`${DIR}/${file}`)
    .filter(isRecord)
    .map((doc) => ({ ...(doc as Resource), file })),
);

function one<T extends Resource>(kind: string): T {
  const found = resources.filter((r) => r.kind === kind);
  expect(found.map((r) => r.metadata.name), kind).toHaveLength(1);
  return found[0] as unknown as T;
}

const deployment = one<Deployment>('Deployment');
const pod = deployment.spec.template.spec;
const container = pod.containers[0]!;
const configMap = one<Resource & { data: Record<string, string> }>('ConfigMap');
const secret = one<Resource & { stringData: Record<string, string> }>('Secret');
const defaults = loadConfig({});

function setting(key: string): string | undefined {
  return container.env?.find((e) => e.name === key)?.value ?? configMap.data[key];
}

/** A named or numbered container port, as a number. */
function portNumber(port: number | string | undefined): number | undefined {
  return typeof port === 'number' ? port : container.ports.find((p) => p.name === port)?.containerPort;
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function cores(cpu: string): number {
  return cpu.endsWith('m') ? Number(cpu.slice(0, -1)) / 1000 : Number(cpu);
}

describe('deploy/kubernetes', () => {
  it('kustomization applies every manifest but the Secret example', () => {
    const kustomization = resources.find((r) => r.kind === 'Kustomization') as unknown as { resources: string[] };
    const manifests = files.filter((f) => f !== 'kustomization.yaml' && f !== 'secret.example.yaml');
    expect([...kustomization.resources].sort()).toEqual(manifests.sort());
    expect(secret.file).toBe('secret.example.yaml');
  });

  it('runs at least two replicas of the image, its port 8080 named http as the server listens', () => {
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(selects(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels)).toBe(true);
    expect(container.image).toBe('ghcr.io/your-org/audiohook-connector:latest');
    expect(container.ports).toContainEqual(expect.objectContaining({ name: 'http', containerPort: 8080 }));
    expect(Number(setting('PORT') ?? defaults.port)).toBe(portNumber('http'));
  });

  it('probes readiness on /ready and liveness on /health, on the server port', () => {
    expect(container.readinessProbe?.httpGet?.path).toBe('/ready');
    expect(container.livenessProbe?.httpGet?.path).toBe('/health');
    if (container.startupProbe) expect(container.startupProbe.httpGet?.path).toBe('/health');
    for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe].filter((p) => p !== undefined)) {
      expect(portNumber(probe.httpGet?.port)).toBe(8080);
    }
  });

  it('gives a pod being deleted its preStop pause, the drain grace and the close flush before SIGKILL', () => {
    const preStop = container.lifecycle?.preStop;
    const pauseSeconds = preStop?.sleep?.seconds ?? Number(/^sleep$/.test(preStop?.exec?.command[0] ?? '') ? preStop?.exec?.command[1] : NaN);
    expect(pauseSeconds).toBeGreaterThan(0);
    const graceSeconds = Number(setting('SHUTDOWN_GRACE_SECONDS') ?? defaults.shutdownGraceMs / 1000);
    const flushSeconds = Number(setting('CLOSE_FLUSH_TIMEOUT_MS') ?? defaults.closeFlushTimeoutMs) / 1000;
    expect(setting('SHUTDOWN_GRACE_SECONDS')).toBeDefined();
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(pauseSeconds + graceSeconds + flushSeconds);
  });

  it('runs one worker process per requested CPU', () => {
    const cpu = cores(container.resources.requests.cpu);
    expect(cpu).toBeGreaterThanOrEqual(1);
    expect(Number(setting('WEB_CONCURRENCY'))).toBe(cpu);
    if (container.resources.limits?.cpu) expect(cores(container.resources.limits.cpu)).toBeGreaterThanOrEqual(cpu);
    // pocketsphinx processes per worker: the default counts the node's cores, not this limit.
    expect(Number(setting('WEB_CONCURRENCY')) * Number(setting('LOCAL_ENGINE_CONCURRENCY'))).toBeLessThanOrEqual(cpu);
  });

  it('runs as a user that is not root, on a read-only root filesystem with a writable /tmp', () => {
    const runAsNonRoot = container.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
    const runAsUser = container.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
    expect(runAsNonRoot).toBe(true);
    expect(runAsUser).toBeGreaterThan(0); // numeric, or the kubelet cannot check the image's `node` user
    expect(container.securityContext?.allowPrivilegeEscalation).toBe(false);
    if (container.securityContext?.readOnlyRootFilesystem) {
      // The offline engine makes its FIFOs under os.tmpdir().
      const tmp = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
      expect(tmp).toBeDefined();
      expect(pod.volumes?.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
    }
  });

  it('takes its settings from the ConfigMap and the Secret, each holding only settings the server reads', () => {
    expect(container.envFrom).toEqual(
      expect.arrayContaining([{ configMapRef: { name: configMap.metadata.name } }, { secretRef: { name: secret.metadata.name } }]),
    );
    const known = knownSettings();
    const names = [...Object.keys(configMap.data), ...Object.keys(secret.stringData), ...(container.env ?? []).map((e) => e.name)];
    expect(names.filter((n) => !known.has(n))).toEqual([]);
    expect(Object.keys(secret.stringData).sort()).toEqual([...SECRET_SETTINGS].sort());
    expect(Object.keys(configMap.data).filter((k) => (SECRET_SETTINGS as readonly string[]).includes(k))).toEqual([]);
    expect(configMap.data['NODE_ENV']).toBe('production');
  });

  it('is a configuration the server accepts, once the secrets are filled in', () => {
    const config = loadConfig({ ...configMap.data, ...FAKE_SECRETS });
    expect(config.production).toBe(true);
    expect(config.port).toBe(8080);
    expect(config.shutdownGraceMs).toBe(Number(configMap.data['SHUTDOWN_GRACE_SECONDS']) * 1000);
  });

  it('Service: ClusterIP over the pods, no session affinity (any pod serves any call)', () => {
    const service = one<Resource & { spec: { type?: string; selector: Record<string, string>; sessionAffinity?: string; ports: Array<{ targetPort: number | string }> } }>('Service');
    expect(service.spec.type ?? 'ClusterIP').toBe('ClusterIP');
    expect(service.spec.sessionAffinity ?? 'None').toBe('None');
    expect(selects(service.spec.selector, deployment.spec.template.metadata.labels)).toBe(true);
    for (const p of service.spec.ports) expect(portNumber(p.targetPort)).toBe(8080);
  });

  it('HPA: scales the Deployment on CPU, from two pods, and scales in slower than a pod drains', () => {
    const hpa = one<
      Resource & {
        spec: {
          scaleTargetRef: { apiVersion: string; kind: string; name: string };
          minReplicas: number;
          maxReplicas: number;
          metrics: Array<{ type: string; resource?: { name: string; target: { type: string; averageUtilization?: number } } }>;
          behavior?: { scaleDown?: { stabilizationWindowSeconds?: number } };
        };
      }
    >('HorizontalPodAutoscaler');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
    expect(hpa.spec.metrics).toContainEqual({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } });
    expect(hpa.spec.behavior?.scaleDown?.stabilizationWindowSeconds).toBeGreaterThanOrEqual(pod.terminationGracePeriodSeconds!);
  });

  it('PodDisruptionBudget covers the pods', () => {
    const pdb = one<Resource & { spec: { selector: { matchLabels: Record<string, string> } } }>('PodDisruptionBudget');
    expect(selects(pdb.spec.selector.matchLabels, deployment.spec.template.metadata.labels)).toBe(true);
  });

  it('Ingress: routes the AudioHook path to the Service, and idles out after the server would', () => {
    const ingress = one<
      Resource & { spec: { rules: Array<{ http: { paths: Array<{ path: string; backend: { service: { name: string; port: { name?: string; number?: number } } } }> } }> } }
    >('Ingress');
    const service = one<Resource & { spec: { ports: Array<{ name?: string; port: number }> } }>('Service');
    const paths = ingress.spec.rules.flatMap((r) => r.http.paths);
    expect(paths.map((p) => p.path)).toEqual([setting('AUDIOHOOK_PATH') ?? defaults.path, setting('AUDIO_CONNECTOR_PATH') ?? defaults.voiceBot.path]);
    for (const p of paths) {
      expect(p.backend.service.name).toBe(service.metadata.name);
      expect(service.spec.ports.some((sp) => sp.name === p.backend.service.port.name || sp.port === p.backend.service.port.number)).toBe(true);
    }
    const idleSeconds = Number(setting('IDLE_TIMEOUT_SECONDS') ?? defaults.idleTimeoutMs / 1000);
    for (const key of ['proxy-read-timeout', 'proxy-send-timeout']) {
      expect(Number(ingress.metadata.annotations?.[`nginx.ingress.kubernetes.io/${key}`]), key).toBeGreaterThan(idleSeconds);
    }
  });
});
