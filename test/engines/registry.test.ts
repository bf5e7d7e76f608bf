import { describe, expect, it } from 'vitest';
import { createEngineRegistry } from '../../src/engines/registry.js';
import { createSimulatedEngine } from '../../src/engines/simulated/index.js';

describe('engine registry', () => {
  const reg = createEngineRegistry([createSimulatedEngine()], 'simulated', { google: 'GOOGLE_CLOUD_PROJECT is not set' });

  it('falls back to the default vendor and matches case-insensitively', () => {
    expect(reg.resolve(undefined)).toMatchObject({ ok: true, engine: { name: 'simulated' } });
    expect(reg.resolve(' SimuLated ')).toMatchObject({ ok: true });
    expect(reg.resolve('')).toMatchObject({ ok: true });
  });

  it('names an unknown vendor, and says why a known one is not configured', () => {
    expect(reg.resolve('acme')).toEqual({ ok: false, reason: "unknown transcriptionVendor 'acme' (available: simulated)" });
    expect(reg.resolve('Google')).toEqual({ ok: false, reason: "transcriptionVendor 'google' is not configured: GOOGLE_CLOUD_PROJECT is not set" });
    expect(reg.resolve(42)).toMatchObject({ ok: false });
  });
});
