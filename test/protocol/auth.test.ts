import { describe, expect, it } from 'vitest';
import { authenticateUpgrade, isUuid, NULL_UUID, type AuthConfig } from '../../src/protocol/auth.js';
import { signRequest } from '../../src/protocol/signature.js';

const NOW = 1_700_000_000;
const ORG = 'd7934305-0972-4844-938e-9060eef73d05';
const SESSION = '30b0e395-84d3-4570-ac13-9a62d8f514c0';
const CORR = 'e160e428-53e2-487c-977d-96989bf5c99d';
const SIGNED_KEY = 'signed-key';
const OPEN_KEY = 'open-key';
const SECRET = Buffer.from('a very secret client secret!').toString('base64');
const TARGET = '/audiohook/ws';
const HOST = 'connector.example.com';

const config = (over: Partial<AuthConfig> = {}): AuthConfig => ({
  keys: new Map([[SIGNED_KEY, SECRET], [OPEN_KEY, '']]),
  allowedOrgIds: null,
  ...over,
});

const baseHeaders = (apiKey: string) => ({
  'audiohook-organization-id': ORG,
  'audiohook-session-id': SESSION,
  'audiohook-correlation-id': CORR,
  'x-api-key': apiKey,
});

const signed = (apiKey = SIGNED_KEY, secret = SECRET, nowSeconds = NOW) => ({
  ...baseHeaders(apiKey),
  ...signRequest({
    requestTarget: TARGET, authority: HOST, organizationId: ORG, sessionId: SESSION, correlationId: CORR,
    apiKey, clientSecret: secret, nowSeconds,
  }),
});

type Headers = Record<string, string | string[] | undefined>;
const auth = (headers: Headers, cfg = config(), now = NOW + 1) =>
  authenticateUpgrade({ requestTarget: TARGET, authority: HOST, headers }, cfg, now);

describe('isUuid', () => {
  it('accepts UUIDs of any case, including the null UUID', () => {
    expect(isUuid(ORG)).toBe(true);
    expect(isUuid(ORG.toUpperCase())).toBe(true);
    expect(isUuid(NULL_UUID)).toBe(true);
    expect(NULL_UUID).toBe('00000000-0000-0000-0000-000000000000');
  });
  it.each([[''], ['nope'], [`${ORG}0`], [ORG.replace(/-/g, '')], [`{${ORG}}`], [ORG.replace('d', 'g')], [5], [undefined]])(
    'rejects %j', (s) => { expect(isUuid(s)).toBe(false); },
  );
});

describe('authenticateUpgrade', () => {
  it('accepts a correctly signed request and returns the ids', () => {
    expect(auth(signed())).toEqual({ ok: true, organizationId: ORG, sessionId: SESSION, correlationId: CORR, apiKey: SIGNED_KEY });
  });

  it.each(['audiohook-organization-id', 'audiohook-session-id', 'audiohook-correlation-id'])('400 on missing or bad %s', (name) => {
    expect(auth({ ...signed(), [name]: undefined })).toEqual({ ok: false, status: 400, reason: `missing ${name} header` });
    expect(auth({ ...signed(), [name]: '' })).toEqual({ ok: false, status: 400, reason: `missing ${name} header` });
    expect(auth({ ...signed(), [name]: 'not-a-uuid' })).toEqual({ ok: false, status: 400, reason: `invalid ${name} header` });
    expect(auth({ ...signed(), [name]: [ORG, ORG] })).toMatchObject({ ok: false, status: 400 });
  });

  it('accepts upper-case UUID headers', () => {
    const headers = { ...baseHeaders(OPEN_KEY), 'audiohook-session-id': SESSION.toUpperCase() };
    expect(auth(headers)).toMatchObject({ ok: true, sessionId: SESSION.toUpperCase() });
  });

  it('401 on missing API key', () => {
    expect(auth({ ...signed(), 'x-api-key': undefined })).toEqual({ ok: false, status: 401, reason: 'missing API key' });
    expect(auth({ ...signed(), 'x-api-key': '' })).toEqual({ ok: false, status: 401, reason: 'missing API key' });
  });

  it('enforces the organization allow-list (case-insensitively for lower-case lists)', () => {
    const cfg = config({ allowedOrgIds: new Set([ORG]) });
    expect(auth(signed(), cfg)).toMatchObject({ ok: true });
    expect(auth({ ...signed(), 'audiohook-organization-id': ORG.toUpperCase() }, cfg)).toMatchObject({ ok: false, reason: 'bad signature' });
    const other = config({ allowedOrgIds: new Set([CORR]) });
    expect(auth(signed(), other)).toEqual({ ok: false, status: 401, reason: 'organization not allowed' });
    expect(auth(baseHeaders(OPEN_KEY), other)).toEqual({ ok: false, status: 401, reason: 'organization not allowed' });
  });

  it('401 on unknown API key, signed or not', () => {
    expect(auth(baseHeaders('who'))).toEqual({ ok: false, status: 401, reason: 'unknown API key' });
    expect(auth(signed('who'))).toEqual({ ok: false, status: 401, reason: 'unknown API key' });
    expect(auth(baseHeaders(`${SIGNED_KEY}x`))).toEqual({ ok: false, status: 401, reason: 'unknown API key' });
    expect(auth(baseHeaders(SIGNED_KEY.slice(0, -1)))).toEqual({ ok: false, status: 401, reason: 'unknown API key' });
  });

  it('requires a valid signature for keys with a secret', () => {
    expect(auth(baseHeaders(SIGNED_KEY))).toEqual({ ok: false, status: 401, reason: 'missing signature' });
    const wrongSecret = signed(SIGNED_KEY, Buffer.from('wrong').toString('base64'));
    expect(auth(wrongSecret)).toEqual({ ok: false, status: 401, reason: 'bad signature' });
    expect(auth(signed(), config(), NOW + 30)).toEqual({ ok: false, status: 401, reason: 'signature expired' });
    expect(authenticateUpgrade({ requestTarget: '/other', authority: HOST, headers: signed() }, config(), NOW)).toEqual({ ok: false, status: 401, reason: 'bad signature' });
  });

  it('passes maxAge/maxSkew through', () => {
    expect(auth(signed(), config({ maxAgeSeconds: 0 }), NOW + 1)).toEqual({ ok: false, status: 401, reason: 'signature too old' });
    expect(auth(signed(), config({ maxSkewSeconds: 0 }), NOW - 1)).toEqual({ ok: false, status: 401, reason: 'created in the future' });
  });

  it('allows unsigned requests for keys without a secret and ignores any signature', () => {
    expect(auth(baseHeaders(OPEN_KEY))).toMatchObject({ ok: true, apiKey: OPEN_KEY });
    expect(auth({ ...baseHeaders(OPEN_KEY), 'signature-input': 'junk', signature: 'junk' })).toMatchObject({ ok: true });
  });

  it('with authentication disabled, any API key passes and signatures are ignored', () => {
    const cfg = config({ keys: null });
    expect(auth(baseHeaders('anything'), cfg)).toMatchObject({ ok: true, apiKey: 'anything' });
    expect(auth({ ...baseHeaders('x'), signature: 'junk' }, cfg)).toMatchObject({ ok: true });
    expect(auth({ ...baseHeaders('x'), 'x-api-key': undefined }, cfg)).toEqual({ ok: false, status: 401, reason: 'missing API key' });
    expect(auth(baseHeaders('x'), config({ keys: null, allowedOrgIds: new Set() }))).toMatchObject({ ok: false, reason: 'organization not allowed' });
  });

  it('treats an empty key map as "no key is valid"', () => {
    expect(auth(baseHeaders(OPEN_KEY), config({ keys: new Map() }))).toEqual({ ok: false, status: 401, reason: 'unknown API key' });
  });
});
