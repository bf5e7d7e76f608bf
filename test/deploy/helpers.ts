/** Shared by the deployment-artifact tests: the repository, its files, and the server's settings. */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export function read(path: string): string {
  return readFileSync(`${ROOT}${path}`, 'utf8');
}

export function exists(path: string): boolean {
  return existsSync(`${ROOT}${path}`);
}

/** Every YAML document of a file, as plain data; a syntax error fails the test that reads it. */
export function yamlDocuments(path: string): unknown[] {
  return parseAllDocuments(read(path)).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as unknown;
  });
}

/** The settings `.env.example` documents, in order. */
export function envExampleNames(): string[] {
  return [...read('.env.example').matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
}

/** Settings read outside the configuration schema of .env.example: process model, metrics, logs. */
export const EXTRA_SETTINGS = ['METRICS_TOKEN', 'WEB_CONCURRENCY', 'LOG_TRANSCRIPTS', 'NODE_ENV'] as const;

/** Every environment variable the server reads. */
export function knownSettings(): Set<string> {
  return new Set([...envExampleNames(), ...EXTRA_SETTINGS]);
}

/** Settings that are credentials: kept in secret stores, never in plain configuration. */
export const SECRET_SETTINGS = [
  'GENESYS_API_KEY',
  'GENESYS_CLIENT_SECRET',
  'GENESYS_API_KEYS',
  'GOOGLE_APPLICATION_CREDENTIALS',
  'OPENAI_API_KEY',
  'GEMINI_API_KEY',
  'METRICS_TOKEN',
  'BOT_WEBHOOK_SECRET',
  'BOTS',
] as const;

/** Stand-ins for the secrets, of the right shape, to run a deployment's settings through loadConfig. */
export const FAKE_SECRETS: Readonly<Record<string, string>> = {
  GENESYS_API_KEY: 'test-api-key',
  GENESYS_CLIENT_SECRET: Buffer.from('test-client-secret').toString('base64'),
  GOOGLE_APPLICATION_CREDENTIALS: JSON.stringify({
    type: 'service_account',
    project_id: 'test-project',
    client_email: 'connector@test-project.iam.gserviceaccount.com',
    private_key: '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n',
  }),
};

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
