import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import { problems } from '../../config/problems.js';
import { createConfiguredEngines } from '../../../src/engines/configured.js';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const key = {
  type: 'service_account',
  project_id: 'acme-speech',
  client_email: 'connector@acme-speech.iam.gserviceaccount.com',
  private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
};


describe('Google settings', () => {
  it('takes GOOGLE_APPLICATION_CREDENTIALS as the JSON itself or as a key file path', () => {
    const fromJson = loadConfig({ GOOGLE_APPLICATION_CREDENTIALS: JSON.stringify(key) });
    expect(fromJson.engines.google).toMatchObject({
      projectId: 'acme-speech',
      location: 'us-central1',
      model: 'chirp_2',
      endpoint: 'us-central1-speech.googleapis.com',
      insecure: false,
      defaultConfidence: 0.9,
      streamLimitMs: 300_000,
    });
    const dir = mkdtempSync(join(tmpdir(), 'gkey-'));
    writeFileSync(join(dir, 'key.json'), JSON.stringify(key));
    const fromFile = loadConfig({
      GOOGLE_APPLICATION_CREDENTIALS: join(dir, 'key.json'),
      GOOGLE_CLOUD_PROJECT: 'other-project',
      GOOGLE_SPEECH_LOCATION: 'global',
      GOOGLE_SPEECH_MODEL: 'Telephony',
    });
    expect(fromFile.engines.google).toMatchObject({ projectId: 'other-project', endpoint: 'speech.googleapis.com', model: 'telephony' });
    expect(fromFile.engines.google!.credentials!.client_email).toBe(key.client_email);
  });

  it('leaves google unconfigured, with the reason, when no credentials are given', () => {
    const c = loadConfig({});
    expect(c.engines.google).toBeUndefined();
    expect(c.unconfiguredEngines['google']).toMatch(/GOOGLE_APPLICATION_CREDENTIALS is not set/);
  });

  it('reports every problem at start-up, one line each, without echoing the secret', () => {
    const p = problems({
      GOOGLE_APPLICATION_CREDENTIALS: '{"private_key": "-----BEGIN PRIVATE KEY----- secret-material"',
      GOOGLE_SPEECH_MODEL: 'whisper',
      GOOGLE_DEFAULT_CONFIDENCE: '0',
    });
    expect(p).toHaveLength(3);
    expect(p.join('\n')).not.toContain('secret-material');
    expect(p.some((l) => l.startsWith('GOOGLE_SPEECH_MODEL'))).toBe(true);
    expect(problems({ GOOGLE_APPLICATION_CREDENTIALS: '/nonexistent/key.json' })).toEqual([
      'GOOGLE_APPLICATION_CREDENTIALS: cannot read the key file (ENOENT); give a path or the JSON itself',
    ]);
    expect(problems({ GOOGLE_APPLICATION_CREDENTIALS: '{"client_email": "a@b"}' })[0]).toMatch(/not a service-account key/);
    expect(problems({ DEFAULT_SPEECH_PROVIDER: 'google' })[0]).toMatch(/^DEFAULT_SPEECH_PROVIDER: 'google' is not configured: GOOGLE_APPLICATION_CREDENTIALS/);
  });

  it('allows plain-text gRPC only for a named local endpoint and never in production', () => {
    expect(problems({ GOOGLE_SPEECH_INSECURE: 'true' })).toEqual(['GOOGLE_SPEECH_INSECURE: needs GOOGLE_SPEECH_ENDPOINT (the local fake or emulator)']);
    expect(problems({ NODE_ENV: 'production', GENESYS_API_KEY: 'k', GOOGLE_SPEECH_INSECURE: 'true', GOOGLE_SPEECH_ENDPOINT: '127.0.0.1:5000' })[0]).toMatch(
      /GOOGLE_SPEECH_INSECURE: not allowed when NODE_ENV=production/,
    );
    expect(problems({ GOOGLE_SPEECH_ENDPOINT: 'https://speech.example/v2' })[0]).toMatch(/GOOGLE_SPEECH_ENDPOINT: must be host or host:port/);
    const c = loadConfig({ GOOGLE_SPEECH_INSECURE: 'true', GOOGLE_SPEECH_ENDPOINT: '127.0.0.1:5000' });
    expect(c.engines.google).toMatchObject({ insecure: true, endpoint: '127.0.0.1:5000', projectId: 'local-project' });
  });

  it('the server then offers google, and refuses it with the reason where it is not configured', async () => {
    const on = await createConfiguredEngines(loadConfig({ GOOGLE_SPEECH_INSECURE: 'true', GOOGLE_SPEECH_ENDPOINT: '127.0.0.1:1' }));
    expect(on.resolve('Google')).toMatchObject({ ok: true, engine: { name: 'google', capabilities: { restartable: true, maxStreamMs: 300_000 } } });
    const off = await createConfiguredEngines(loadConfig({}));
    expect(off.resolve('google')).toEqual({
      ok: false,
      reason: "transcriptionVendor 'google' is not configured: GOOGLE_APPLICATION_CREDENTIALS is not set (a service-account key file path or its JSON)",
    });
  });
});
