import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  parseSignatureInput,
  signatureBase,
  signRequest,
  verifySignature,
  type VerifyInput,
} from '../../src/protocol/signature.js';

// Public test vector (protocol §8).
const NOW = 1641013200;
const SECRET = 'TXlTdXBlclNlY3JldEtleVRlbGxOby0xITJAMyM0JDU=';
const API_KEY = 'SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh';
const TARGET = '/api/v1/voicebiometrics/ws';
const HOST = 'audiohook.example.com';
const INNER =
  '("@request-target" "@authority" "audiohook-organization-id" "audiohook-session-id" "audiohook-correlation-id" "x-api-key");keyid="SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh";nonce="VGhpc0lzQVVuaXF1ZU5vbmNl";alg="hmac-sha256";created=1641013200;expires=3282026430';
const IDS = {
  'audiohook-organization-id': 'd7934305-0972-4844-938e-9060eef73d05',
  'audiohook-correlation-id': 'e160e428-53e2-487c-977d-96989bf5c99d',
  'audiohook-session-id': '30b0e395-84d3-4570-ac13-9a62d8f514c0',
  'x-api-key': API_KEY,
};
const VECTOR_HEADERS = {
  ...IDS,
  'signature-input': `sig1=${INNER}`,
  signature: 'sig1=:NZBwyBHRRyRoeLqy1IzOa9VYBuI8TgMFt2GRDkDuJh4=:',
};

const vector = (over: Partial<VerifyInput> = {}): VerifyInput => ({
  authority: HOST,
  requestTarget: TARGET,
  headers: { ...VECTOR_HEADERS },
  clientSecret: SECRET,
  apiKey: API_KEY,
  nowSeconds: NOW + 2,
  ...over,
});

const reason = (r: ReturnType<typeof verifySignature>) => (r.ok ? 'ok' : r.reason);

describe('parseSignatureInput', () => {
  it('parses the test vector', () => {
    expect(parseSignatureInput(`sig1=${INNER}`)).toEqual({
      label: 'sig1',
      components: ['@request-target', '@authority', 'audiohook-organization-id', 'audiohook-session-id', 'audiohook-correlation-id', 'x-api-key'],
      params: { keyid: API_KEY, nonce: 'VGhpc0lzQVVuaXF1ZU5vbmNl', alg: 'hmac-sha256', created: 1641013200, expires: 3282026430 },
      rawInnerList: INNER,
    });
  });

  it('handles escapes, spacing, extra params and several members', () => {
    const p = parseSignatureInput(' a=("x-api-key"  "@authority");keyid="k\\"\\\\";tag=foo;flag, b=("x")');
    expect(p).toMatchObject({ label: 'a', components: ['x-api-key', '@authority'], params: { keyid: 'k"\\' } });
    expect(p?.rawInnerList).toBe('("x-api-key"  "@authority");keyid="k\\"\\\\";tag=foo;flag');
  });

  it.each([
    [''], ['sig1'], ['sig1=("a"'], ['sig1=("a")x'], ['sig1=("a");created="1"'], ['sig1=("a");keyid=1'],
    ['Sig1=("a")'], ['sig1=("a" "a")'], ['sig1=("a";sf)'], ['sig1=(a)'], ['sig1="x"'], ['sig1=("a"),'],
    ['sig1=("a\u0001")'], ['sig1=("a");created=1.5'],
  ])('rejects %j', (h) => {
    expect(parseSignatureInput(h)).toBeUndefined();
  });
});

describe('signatureBase', () => {
  it('builds the RFC 9421 base for the test vector', () => {
    const parsed = parseSignatureInput(`sig1=${INNER}`);
    if (!parsed) throw new Error('parse');
    const values: Record<string, string> = { '@request-target': TARGET, '@authority': HOST, ...IDS };
    const base = signatureBase(parsed.components, (n) => values[n], parsed.rawInnerList);
    expect(base).toBe(
      [
        `"@request-target": ${TARGET}`,
        `"@authority": ${HOST}`,
        `"audiohook-organization-id": ${IDS['audiohook-organization-id']}`,
        `"audiohook-session-id": ${IDS['audiohook-session-id']}`,
        `"audiohook-correlation-id": ${IDS['audiohook-correlation-id']}`,
        `"x-api-key": ${API_KEY}`,
        `"@signature-params": ${INNER}`,
      ].join('\n'),
    );
    const mac = createHmac('sha256', Buffer.from(SECRET, 'base64')).update(base ?? '').digest('base64');
    expect(mac).toBe('NZBwyBHRRyRoeLqy1IzOa9VYBuI8TgMFt2GRDkDuJh4=');
  });

  it('is undefined when a value is missing or contains a newline', () => {
    expect(signatureBase(['a'], () => undefined, '()')).toBeUndefined();
    expect(signatureBase(['a'], () => 'x\ny', '()')).toBeUndefined();
  });
});

describe('verifySignature', () => {
  it('verifies the public test vector', () => {
    expect(verifySignature(vector({ nowSeconds: NOW }))).toEqual({ ok: true });
    expect(verifySignature(vector({ nowSeconds: NOW + 2 }))).toEqual({ ok: true });
    expect(verifySignature(vector({ nowSeconds: NOW + 10 }))).toEqual({ ok: true });
  });

  it('normalizes authority case and trims header values; accepts array headers', () => {
    const headers = { ...VECTOR_HEADERS, 'x-api-key': ` ${API_KEY} `, 'signature-input': [`sig1=${INNER}`] };
    expect(reason(verifySignature(vector({ authority: 'AudioHook.Example.COM', headers })))).toBe('ok');
  });

  it.each<[string, Partial<VerifyInput>, string]>([
    ['wrong path', { requestTarget: '/api/v1/other' }, 'bad signature'],
    ['query added', { requestTarget: `${TARGET}?x=1` }, 'bad signature'],
    ['wrong authority', { authority: 'evil.example.com' }, 'bad signature'],
    ['wrong secret', { clientSecret: Buffer.from('another secret').toString('base64') }, 'bad signature'],
    ['unknown key', { clientSecret: undefined }, 'unknown key'],
    ['empty secret', { clientSecret: '' }, 'unknown key'],
    ['too old', { nowSeconds: NOW + 11 }, 'signature too old'],
    ['too old (custom max age)', { nowSeconds: NOW + 4, maxAgeSeconds: 3 }, 'signature too old'],
    ['created in the future', { nowSeconds: NOW - 6 }, 'created in the future'],
    ['within skew', { nowSeconds: NOW - 5 }, 'ok'],
    ['custom skew', { nowSeconds: NOW - 2, maxSkewSeconds: 1 }, 'created in the future'],
    ['keyid mismatch', { apiKey: 'another-key' }, 'keyid mismatch'],
  ])('%s', (_name, over, expected) => {
    expect(reason(verifySignature(vector(over)))).toBe(expected);
  });

  it('rejects a tampered header value', () => {
    const headers = { ...VECTOR_HEADERS, 'audiohook-session-id': '30b0e395-84d3-4570-ac13-9a62d8f514c1' };
    expect(reason(verifySignature(vector({ headers })))).toBe('bad signature');
  });

  it('rejects a tampered MAC', () => {
    const headers = { ...VECTOR_HEADERS, signature: 'sig1=:MZBwyBHRRyRoeLqy1IzOa9VYBuI8TgMFt2GRDkDuJh4=:' };
    expect(reason(verifySignature(vector({ headers })))).toBe('bad signature');
    const short = { ...VECTOR_HEADERS, signature: 'sig1=:AAAA:' };
    expect(reason(verifySignature(vector({ headers: short })))).toBe('bad signature');
  });

  it('rejects a tampered signature-params (e.g. created moved)', () => {
    const headers = { ...VECTOR_HEADERS, 'signature-input': `sig1=${INNER.replace('created=1641013200', 'created=1641013201')}` };
    expect(reason(verifySignature(vector({ headers })))).toBe('bad signature');
  });

  it('rejects an expired signature', () => {
    const headers = { ...VECTOR_HEADERS, 'signature-input': `sig1=${INNER.replace('expires=3282026430', `expires=${NOW + 1}`)}` };
    expect(reason(verifySignature(vector({ headers })))).toBe('signature expired');
  });

  it('rejects a label mismatch', () => {
    const headers = { ...VECTOR_HEADERS, signature: 'sig2=:NZBwyBHRRyRoeLqy1IzOa9VYBuI8TgMFt2GRDkDuJh4=:' };
    expect(reason(verifySignature(vector({ headers })))).toBe('signature label mismatch');
  });

  it.each([
    [{ signature: undefined }, 'missing signature'],
    [{ 'signature-input': undefined }, 'missing signature'],
    [{ 'signature-input': 'garbage(' }, 'malformed signature-input'],
    [{ signature: 'sig1=:not base64!:' }, 'malformed signature'],
    [{ signature: 'sig1="text"' }, 'malformed signature'],
    [{ 'x-api-key': undefined }, 'missing signed header'],
    [{ 'signature-input': `sig1=${INNER.replace('hmac-sha256', 'rsa-pss-sha512')}` }, 'unsupported alg'],
    [{ 'signature-input': `sig1=${INNER.replace('VGhpc0lzQVVuaXF1ZU5vbmNl', 'short')}` }, 'nonce too short'],
    [{ 'signature-input': `sig1=${INNER.replace(';created=1641013200', '')}` }, 'missing created'],
  ])('malformed/missing headers %#', (over, expected) => {
    const headers = { ...VECTOR_HEADERS, ...over } as Record<string, string | undefined>;
    expect(reason(verifySignature(vector({ headers })))).toBe(expected);
  });

  it('requires every component (re-signed without one)', () => {
    const base = {
      requestTarget: TARGET, authority: HOST, organizationId: IDS['audiohook-organization-id'],
      sessionId: IDS['audiohook-session-id'], correlationId: IDS['audiohook-correlation-id'],
      apiKey: API_KEY, clientSecret: SECRET, nowSeconds: NOW,
    };
    for (const missing of ['x-api-key', '@authority', 'audiohook-session-id']) {
      const components = ['@request-target', '@authority', 'audiohook-organization-id', 'audiohook-session-id', 'audiohook-correlation-id', 'x-api-key'].filter((c) => c !== missing);
      const signed = signRequest({ ...base, components });
      expect(reason(verifySignature(vector({ nowSeconds: NOW, headers: { ...IDS, ...signed } })))).toBe(`missing component ${missing}`);
    }
  });
});

describe('signRequest', () => {
  const input = {
    requestTarget: '/audiohook?x=1', authority: 'connector.example.com:8443',
    organizationId: IDS['audiohook-organization-id'], sessionId: IDS['audiohook-session-id'],
    correlationId: IDS['audiohook-correlation-id'], apiKey: API_KEY, clientSecret: SECRET, nowSeconds: 1_700_000_000,
  };
  const headersFor = (signed: ReturnType<typeof signRequest>) => ({ ...IDS, ...signed });

  it('round-trips through verifySignature', () => {
    const signed = signRequest(input);
    expect(signed.signature).toMatch(/^sig1=:[A-Za-z0-9+/]+=*:$/);
    const parsed = parseSignatureInput(signed['signature-input']);
    expect(parsed?.params.nonce?.length).toBeGreaterThanOrEqual(22);
    expect(parsed?.params.expires).toBe(input.nowSeconds + 10);
    expect(verifySignature({ ...input, headers: headersFor(signed), nowSeconds: input.nowSeconds + 1 })).toEqual({ ok: true });
    expect(reason(verifySignature({ ...input, headers: headersFor(signed), nowSeconds: input.nowSeconds + 11 }))).toBe('signature expired');
  });

  it('reproduces the test vector given the same nonce and expiry', () => {
    const signed = signRequest({
      requestTarget: TARGET, authority: HOST, organizationId: IDS['audiohook-organization-id'],
      sessionId: IDS['audiohook-session-id'], correlationId: IDS['audiohook-correlation-id'], apiKey: API_KEY,
      clientSecret: SECRET, nowSeconds: NOW, nonce: 'VGhpc0lzQVVuaXF1ZU5vbmNl', expiresInSeconds: 3282026430 - NOW,
    });
    expect(signed).toEqual({ 'signature-input': VECTOR_HEADERS['signature-input'], signature: VECTOR_HEADERS.signature });
  });

  it('uses fresh nonces', () => {
    expect(signRequest(input)['signature-input']).not.toBe(signRequest(input)['signature-input']);
  });
});
