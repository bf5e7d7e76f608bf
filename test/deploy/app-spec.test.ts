/** .do/app.yaml, the DigitalOcean App Platform spec, against the server it deploys. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { envExampleNames, exists, FAKE_SECRETS, knownSettings, read, SECRET_SETTINGS, yamlDocuments } from './helpers.js';

interface EnvVar {
  key: string;
  value?: unknown;
  scope?: string;
  type?: string;
}

interface HealthCheck {
  http_path?: string;
  port?: number;
}

interface Service {
  name: string;
  environment_slug?: string;
  dockerfile_path?: string;
  build_command?: string;
  run_command?: string;
  http_port?: number;
  instance_size_slug?: string;
  instance_count?: number;
  autoscaling?: { min_instance_count: number; max_instance_count: number; metrics: { cpu: { percent: number } } };
  health_check?: HealthCheck;
  liveness_health_check?: HealthCheck;
  termination?: { drain_seconds?: number; grace_period_seconds?: number };
  github?: { repo: string; branch: string; deploy_on_push?: boolean };
  envs: EnvVar[];
}

interface IngressRule {
  match: { path: { prefix: string } };
  component?: { name: string; preserve_path_prefix?: boolean };
}

interface AppSpec {
  name: string;
  services: Service[];
  ingress: { rules: IngressRule[] };
}

const [spec] = yamlDocuments('.do/app.yaml') as [AppSpec];
const service = spec.services[0]!;
const env = new Map(service.envs.map((e) => [e.key, e]));
/** The spec's settings as the server would see them (empty = not set). */
const settings = Object.fromEntries(service.envs.filter((e) => e.value !== '' && e.value !== undefined).map((e) => [e.key, String(e.value)]));
const defaults = loadConfig({});

function setting(key: string): string | undefined {
  return settings[key];
}

describe('.do/app.yaml', () => {
  it('is one service, built from the repository', () => {
    expect(spec.services).toHaveLength(1);
    expect(service.name).toBe('audiohook-connector');
    expect(service.github?.deploy_on_push).toBe(true);
  });

  it('checks readiness on /ready and liveness on /health, on the service port', () => {
    expect(service.health_check?.http_path).toBe('/ready');
    expect(service.liveness_health_check?.http_path).toBe('/health');
    for (const check of [service.health_check, service.liveness_health_check]) expect(check?.port ?? service.http_port).toBe(service.http_port);
  });

  it('routes /audiohook to the service with its prefix preserved, and it is the path the server upgrades', () => {
    const rule = spec.ingress.rules.find((r) => r.match.path.prefix === '/audiohook');
    expect(rule?.component).toEqual({ name: service.name, preserve_path_prefix: true });
    expect(setting('AUDIOHOOK_PATH') ?? defaults.path).toBe(rule?.match.path.prefix);
    const bots = spec.ingress.rules.find((r) => r.match.path.prefix === (setting('AUDIO_CONNECTOR_PATH') ?? defaults.voiceBot.path));
    expect(bots, 'the voice-bot path is routed').toBeDefined();
    // Every route keeps its prefix (the server knows only full paths) and leads to this service.
    for (const r of spec.ingress.rules) expect(r.component).toEqual({ name: service.name, preserve_path_prefix: true });
  });

  it('listens on 8080, the http_port, PORT and the server default alike', () => {
    expect(service.http_port).toBe(8080);
    expect(defaults.port).toBe(service.http_port);
    expect(setting('PORT') ?? String(defaults.port)).toBe(String(service.http_port));
  });

  it('runs the built server and builds it with the package build script', () => {
    expect(service.run_command).toBe('node dist/server/main.js');
    expect(exists('src/server/main.ts')).toBe(true); // tsconfig.build.json compiles src/ into dist/
    expect(JSON.parse(read('tsconfig.build.json'))).toMatchObject({ compilerOptions: { rootDir: 'src', outDir: 'dist' } });
    expect(service.build_command).toBe('npm run build');
    expect((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts['build']).toMatch(/tsc -p tsconfig\.build\.json/);
  });

  it('sets only settings the server reads, each once, at run time, as strings', () => {
    const known = knownSettings();
    const keys = service.envs.map((e) => e.key);
    expect(keys.filter((k) => !known.has(k))).toEqual([]);
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
    // NODE_ENV=production at build time would make the buildpack skip TypeScript.
    expect(service.envs.filter((e) => e.scope !== 'RUN_TIME').map((e) => e.key)).toEqual([]);
    expect(service.envs.filter((e) => typeof e.value !== 'string').map((e) => e.key)).toEqual([]);
  });

  it('lists every setting of .env.example', () => {
    const names = envExampleNames();
    expect(names.length).toBeGreaterThan(50);
    expect(names.filter((n) => !env.has(n))).toEqual([]);
  });

  it('types every credential SECRET and commits no value for it', () => {
    for (const name of SECRET_SETTINGS) {
      expect(env.get(name), name).toMatchObject({ type: 'SECRET', value: '' });
    }
    const secrets = service.envs.filter((e) => e.type === 'SECRET').map((e) => e.key);
    expect(secrets.sort()).toEqual([...SECRET_SETTINGS].sort());
  });

  it('runs in production with an engine the buildpack can have', () => {
    expect(setting('NODE_ENV')).toBe('production');
    if (service.dockerfile_path === undefined) {
      expect(service.environment_slug).toBe('node-js');
      // No apt-get in the buildpack: the offline engine is not there.
      expect(['google', 'openai']).toContain(setting('DEFAULT_SPEECH_PROVIDER'));
    }
  });

  it('is a configuration the server accepts, once the secrets are filled in', () => {
    const config = loadConfig({ ...settings, ...FAKE_SECRETS });
    expect(config.production).toBe(true);
    expect(config.port).toBe(service.http_port);
    expect(config.defaultVendor).toBe(setting('DEFAULT_SPEECH_PROVIDER'));
    expect(config.engines[config.defaultVendor as 'google' | 'openai']).toBeDefined();
  });

  it('autoscales dedicated instances, one worker process per vCPU', () => {
    const a = service.autoscaling!;
    expect(service.instance_count).toBeUndefined(); // not allowed alongside autoscaling
    expect(service.instance_size_slug).toMatch(/^apps-d-/); // autoscaling needs dedicated CPUs
    expect(a.min_instance_count).toBeGreaterThanOrEqual(2);
    expect(a.max_instance_count).toBeGreaterThan(a.min_instance_count);
    expect(a.metrics.cpu.percent).toBeGreaterThan(0);
    expect(a.metrics.cpu.percent).toBeLessThanOrEqual(90);
    const vcpus = /^apps-d-(\d+)vcpu-/.exec(service.instance_size_slug ?? '')?.[1];
    expect(setting('WEB_CONCURRENCY')).toBe(vcpus);
  });

  it('gives draining calls their grace before the container is killed', () => {
    const graceSeconds = Number(setting('SHUTDOWN_GRACE_SECONDS') ?? defaults.shutdownGraceMs / 1000);
    const flushSeconds = Number(setting('CLOSE_FLUSH_TIMEOUT_MS') ?? defaults.closeFlushTimeoutMs) / 1000;
    const t = service.termination!;
    expect(t.grace_period_seconds).toBeGreaterThan(graceSeconds + flushSeconds);
    expect(t.grace_period_seconds).toBeLessThanOrEqual(600); // App Platform's maximum
    expect(t.drain_seconds ?? 15).toBeLessThanOrEqual(110);
  });
});

describe('settings documentation', () => {
  it('.env.example and the README name every setting the configuration reads', async () => {
    const { SETTING_NAMES } = await import('../../src/config/config.js');
    const example = new Set(envExampleNames());
    const readme = read('README.md');
    expect(SETTING_NAMES.filter((n) => !example.has(n) && n !== 'NODE_ENV')).toEqual([]);
    expect(SETTING_NAMES.filter((n) => !readme.includes(`\`${n}\``))).toEqual([]);
  });
});
