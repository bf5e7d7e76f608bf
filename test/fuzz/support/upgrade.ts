/**
 * Generated WebSocket upgrades (protocol §8): a valid, signed Genesys upgrade to start from, then
 * mangled — headers missing, empty, invalid, duplicated, changed after signing; Signature-Input
 * with missing, duplicated, reordered or extra components and parameters, `created`/`expires`
 * out of policy, wrong key id, wrong algorithm, short nonce, truncated or garbage text; Signature
 * wrong, truncated, not base64, another label; wrong paths and methods; broken WebSocket headers;
 * oversized headers; garbage instead of HTTP.
 *
 * Each case knows the answers a correct server may give (usually exactly one status), and whether
 * the refusal is the server's own (and so counted in audiohook_upgrades_rejected_total).
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import fc from 'fast-check';
import { ORG_ID } from '../../server/harness.js';

export const SIGNED_KEY = 'fuzz-signed-key';
export const OPEN_KEY = 'fuzz-open-key';
export const SECRET = Buffer.from('the fuzz client secret, long enough').toString('base64');
export const OTHER_ALLOWED_ORG = '2b3c4d5e-6f70-4182-9a3b-4c5d6e7f8091';
const NOT_ALLOWED_ORG = '11111111-2222-3333-4444-555555555555';
export const UPGRADE_ENV = {
  GENESYS_API_KEYS: JSON.stringify({ [SIGNED_KEY]: SECRET, [OPEN_KEY]: '' }),
  GENESYS_ORG_ID: `${ORG_ID},${OTHER_ALLOWED_ORG}`,
  AUTH_FAILURE_DELAY_MS: '0',
  SIGNATURE_MAX_AGE_SECONDS: '10',
  OPEN_TIMEOUT_SECONDS: '0.3',
  IDLE_TIMEOUT_SECONDS: '0.3',
  MAX_SESSIONS: '100000',
};

const COMPONENTS = ['@request-target', '@authority', 'audiohook-organization-id', 'audiohook-session-id', 'audiohook-correlation-id', 'x-api-key'];

/** What is done to the signature (only matters for the signed key). 'ok' ones still verify. */
export type SigMut =
  | 'valid' | 'reordered' | 'extra-component' | 'extra-param' | 'nonce-22' | 'created+4' | 'created-8' | 'no-expires' | 'key-case'
  | 'drop-component' | 'dup-component' | 'component-param' | 'alg-wrong' | 'alg-missing' | 'keyid-missing' | 'keyid-other' | 'keyid-number'
  | 'nonce-short' | 'nonce-missing' | 'created+8' | 'created-12' | 'created-missing' | 'created-float' | 'created-string' | 'expires-past'
  | 'expires-float' | 'wrong-secret' | 'mac-flipped' | 'mac-truncated' | 'mac-not-base64' | 'mac-empty' | 'mac-no-colons' | 'label-mismatch'
  | 'input-truncated' | 'sig-truncated' | 'input-garbage' | 'sig-garbage' | 'input-missing' | 'sig-missing' | 'both-missing'
  | 'dup-param' | 'dup-input-header' | 'dup-sig-header' | 'second-label';

const SIG_OK: SigMut[] = ['valid', 'reordered', 'extra-component', 'extra-param', 'nonce-22', 'created+4', 'created-8', 'no-expires'];
const SIG_UNSURE: SigMut[] = ['dup-param', 'dup-input-header', 'dup-sig-header', 'second-label'];
const SIG_BAD: SigMut[] = [
  'key-case', 'drop-component', 'dup-component', 'component-param', 'alg-wrong', 'alg-missing', 'keyid-missing', 'keyid-other', 'keyid-number', 'nonce-short',
  'nonce-missing', 'created+8', 'created-12', 'created-missing', 'created-float', 'created-string', 'expires-past', 'expires-float', 'wrong-secret',
  'mac-flipped', 'mac-truncated', 'mac-not-base64', 'mac-empty', 'mac-no-colons', 'label-mismatch', 'input-truncated', 'sig-truncated',
  'input-garbage', 'sig-garbage', 'input-missing', 'sig-missing', 'both-missing',
];

type IdMut = 'valid' | 'upper' | 'invalid' | 'empty' | 'absent' | 'duplicated';

export interface UpgradeCase {
  method: string;
  path: string;
  key: 'signed' | 'open' | 'unknown' | 'empty' | 'absent' | 'duplicated';
  org: IdMut | 'other-allowed' | 'not-allowed';
  session: IdMut;
  correlation: IdMut;
  sig: SigMut;
  /** A covered value changed after signing (breaks the signature of the signed key). */
  after: 'none' | 'session' | 'path-query' | 'host' | 'whitespace' | 'header-case';
  ws: 'ok' | 'no-upgrade' | 'connection-keep-alive' | 'upgrade-h2c' | 'version-8' | 'version-99' | 'no-version' | 'no-key' | 'bad-key';
  host: 'normal' | 'absent';
  junk: 'none' | 'junk-headers' | 'huge-header' | 'garbage-request' | 'bad-header-name';
  cut: number;
  seed: number;
}

export const upgradeCase: fc.Arbitrary<UpgradeCase> = fc.record({
  method: fc.oneof({ arbitrary: fc.constant('GET'), weight: 12 }, { arbitrary: fc.constantFrom('POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'get', 'FOO'), weight: 1 }),
  path: fc.oneof(
    { arbitrary: fc.constant('/audiohook'), weight: 12 },
    { arbitrary: fc.constantFrom('/audiohook?x=1', '/audiohook/', '/AudioHook', '//audiohook', '/other', '/', '/%61udiohook', '/audiohook/../audiohook', `/audiohook?${'q'.repeat(2000)}`, '*'), weight: 2 },
  ),
  key: fc.oneof({ arbitrary: fc.constant('signed' as const), weight: 10 }, { arbitrary: fc.constant('open' as const), weight: 3 }, { arbitrary: fc.constantFrom('unknown' as const, 'empty' as const, 'absent' as const, 'duplicated' as const), weight: 1 }),
  org: fc.oneof({ arbitrary: fc.constant('valid' as const), weight: 12 }, { arbitrary: fc.constantFrom('upper', 'invalid', 'empty', 'absent', 'duplicated', 'other-allowed', 'not-allowed') as fc.Arbitrary<UpgradeCase['org']>, weight: 2 }),
  session: fc.oneof({ arbitrary: fc.constant('valid' as const), weight: 12 }, { arbitrary: fc.constantFrom<IdMut>('upper', 'invalid', 'empty', 'absent', 'duplicated'), weight: 1 }),
  correlation: fc.oneof({ arbitrary: fc.constant('valid' as const), weight: 12 }, { arbitrary: fc.constantFrom<IdMut>('upper', 'invalid', 'empty', 'absent', 'duplicated'), weight: 1 }),
  sig: fc.oneof({ arbitrary: fc.constantFrom(...SIG_OK), weight: 4 }, { arbitrary: fc.constantFrom(...SIG_BAD), weight: 6 }, { arbitrary: fc.constantFrom(...SIG_UNSURE), weight: 1 }),
  after: fc.oneof({ arbitrary: fc.constant('none' as const), weight: 10 }, { arbitrary: fc.constantFrom('session', 'path-query', 'host', 'whitespace', 'header-case') as fc.Arbitrary<UpgradeCase['after']>, weight: 2 }),
  ws: fc.oneof({ arbitrary: fc.constant('ok' as const), weight: 12 }, { arbitrary: fc.constantFrom('no-upgrade', 'connection-keep-alive', 'upgrade-h2c', 'version-8', 'version-99', 'no-version', 'no-key', 'bad-key') as fc.Arbitrary<UpgradeCase['ws']>, weight: 2 }),
  host: fc.oneof({ arbitrary: fc.constant('normal' as const), weight: 20 }, { arbitrary: fc.constant('absent' as const), weight: 1 }),
  junk: fc.oneof({ arbitrary: fc.constant('none' as const), weight: 20 }, { arbitrary: fc.constantFrom('junk-headers', 'huge-header', 'garbage-request', 'bad-header-name') as fc.Arbitrary<UpgradeCase['junk']>, weight: 1 }),
  cut: fc.double({ min: 0.05, max: 0.95, noNaN: true }),
  seed: fc.integer({ min: 0, max: 2 ** 30 }),
});

// ---- building the request ----------------------------------------------------------------------

function idValue(m: IdMut | 'other-allowed' | 'not-allowed', valid: string): string | string[] | undefined {
  switch (m) {
    case 'valid': return valid;
    case 'upper': return valid.toUpperCase();
    case 'invalid': return 'not-a-uuid';
    case 'empty': return '';
    case 'absent': return undefined;
    case 'duplicated': return [valid, valid];
    case 'other-allowed': return OTHER_ALLOWED_ORG;
    case 'not-allowed': return NOT_ALLOWED_ORG;
  }
}

const sf = (s: string) => `"${s}"`;
function mac(secret: string, base: string): string {
  return createHmac('sha256', Buffer.from(secret, 'base64')).update(base, 'utf8').digest('base64');
}

export interface BuiltRequest {
  text: string | Buffer;
  sessionId: string | undefined;
}

/** The request bytes, and the session id the server will use if it accepts. */
export function buildRequest(c: UpgradeCase, port: number, nowSeconds: number): BuiltRequest {
  const sessionId = randomUUID();
  const authority = `127.0.0.1:${port}`;
  const headers: Array<[string, string]> = [];
  const add = (name: string, v: string | string[] | undefined) => {
    if (v === undefined) return;
    for (const x of Array.isArray(v) ? v : [v]) headers.push([name, x]);
  };
  const org = idValue(c.org, ORG_ID);
  const sess = idValue(c.session, sessionId);
  const corr = idValue(c.correlation, randomUUID());
  const apiKey = { signed: SIGNED_KEY, open: OPEN_KEY, unknown: 'nobody-key', empty: '', absent: undefined, duplicated: [SIGNED_KEY, SIGNED_KEY] }[c.key];
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(', ') : (v ?? ''));

  // The signature, over the values as they will be sent (before the `after` change).
  const target = c.path;
  const values: Record<string, string> = {
    '@request-target': target,
    '@authority': authority,
    'audiohook-organization-id': one(org),
    'audiohook-session-id': one(sess),
    'audiohook-correlation-id': one(corr),
    'x-api-key': one(apiKey),
    host: authority,
  };
  let components = [...COMPONENTS];
  if (c.sig === 'reordered') components = [...components].reverse();
  if (c.sig === 'extra-component') components.push('host');
  if (c.sig === 'drop-component') components.splice(c.seed % components.length, 1);
  if (c.sig === 'dup-component') components.push(components[c.seed % components.length]!);
  const skew: Record<string, number> = { 'created+4': 4, 'created-8': -8, 'created+8': 8, 'created-12': -12 };
  const created = Math.floor(nowSeconds) + (skew[c.sig] ?? 0);
  const nonce = c.sig === 'nonce-short' ? 'n'.repeat(21) : c.sig === 'nonce-22' ? 'n'.repeat(22) : randomBytes(18).toString('base64url');
  const params: string[] = [];
  if (c.sig !== 'keyid-missing') params.push(`keyid=${c.sig === 'keyid-other' ? sf(OPEN_KEY) : c.sig === 'keyid-number' ? '5' : sf(c.sig === 'key-case' ? SIGNED_KEY.toUpperCase() : SIGNED_KEY)}`);
  if (c.sig !== 'nonce-missing') params.push(`nonce=${sf(nonce)}`);
  if (c.sig !== 'alg-missing') params.push(`alg=${sf(c.sig === 'alg-wrong' ? 'hmac-sha512' : 'hmac-sha256')}`);
  if (c.sig !== 'created-missing') params.push(`created=${c.sig === 'created-float' ? `${created}.5` : c.sig === 'created-string' ? sf(String(created)) : created}`);
  if (c.sig === 'dup-param') params.push(`created=${created}`);
  if (c.sig !== 'no-expires') params.push(`expires=${c.sig === 'expires-past' ? Math.floor(nowSeconds) - 1 : c.sig === 'expires-float' ? `${created + 10}.5` : created + 10}`);
  if (c.sig === 'extra-param') params.push('tag="audiohook"');
  const inner = `(${components.map((x) => sf(x) + (c.sig === 'component-param' && x === 'x-api-key' ? ';sf' : '')).join(' ')});${params.join(';')}`;
  const base = [...components.map((x) => `"${x}": ${values[x] ?? ''}`), `"@signature-params": ${inner}`].join('\n');
  let sig = mac(c.sig === 'wrong-secret' ? Buffer.from('another secret entirely').toString('base64') : SECRET, base);
  if (c.sig === 'mac-flipped') sig = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
  if (c.sig === 'mac-truncated') sig = sig.slice(0, 20);
  let signatureInput = `sig1=${inner}`;
  let signature = `sig1=:${sig}:`;
  if (c.sig === 'mac-not-base64') signature = 'sig1=:!!not*base64!!:';
  if (c.sig === 'mac-empty') signature = 'sig1=::';
  if (c.sig === 'mac-no-colons') signature = `sig1=${sig}`;
  if (c.sig === 'label-mismatch') signature = `sig2=:${sig}:`;
  if (c.sig === 'second-label') {
    signatureInput += ', sig2=("x-api-key");alg="hmac-sha256"';
    signature += ', sig2=:AAAA:';
  }
  if (c.sig === 'input-truncated') signatureInput = signatureInput.slice(0, Math.max(1, Math.floor(signatureInput.length * c.cut)));
  if (c.sig === 'sig-truncated') signature = signature.slice(0, Math.max(1, Math.floor(signature.length * c.cut)));
  if (c.sig === 'input-garbage') signatureInput = randomBytes(12 + (c.seed % 40)).toString('base64');
  if (c.sig === 'sig-garbage') signature = `${randomBytes(8).toString('hex')}=(;;)`;

  // What goes on the wire.
  let path = c.path;
  if (c.after === 'path-query') path = `${path}${path.includes('?') ? '&' : '?'}late=1`;
  const host = c.after === 'host' ? `localhost:${port}` : authority;
  const ws: Array<[string, string]> = [
    ['Connection', c.ws === 'connection-keep-alive' ? 'keep-alive' : 'Upgrade'],
    ['Upgrade', c.ws === 'upgrade-h2c' ? 'h2c' : 'websocket'],
    ['Sec-WebSocket-Version', c.ws === 'version-8' ? '8' : c.ws === 'version-99' ? '99' : '13'],
    ['Sec-WebSocket-Key', c.ws === 'bad-key' ? 'short' : randomBytes(16).toString('base64')],
  ].filter(([n]) => !(c.ws === 'no-upgrade' && n === 'Upgrade') && !(c.ws === 'no-version' && n === 'Sec-WebSocket-Version') && !(c.ws === 'no-key' && n === 'Sec-WebSocket-Key')) as Array<[string, string]>;
  if (c.host === 'normal') add('Host', host);
  for (const [n, v] of ws) add(n, v);
  const name = (n: string) => (c.after === 'header-case' ? n.toUpperCase() : n);
  add(name('Audiohook-Organization-Id'), org);
  const sentSession = c.after === 'session' && (c.session === 'valid' || c.session === 'upper') ? randomUUID() : sess;
  add(name('Audiohook-Session-Id'), sentSession);
  add(name('Audiohook-Correlation-Id'), corr);
  add(name('X-API-KEY'), c.after === 'whitespace' && typeof apiKey === 'string' ? `  ${apiKey}\t` : apiKey);
  if (!['input-missing', 'both-missing'].includes(c.sig)) add('Signature-Input', c.sig === 'dup-input-header' ? [signatureInput, signatureInput] : signatureInput);
  if (!['sig-missing', 'both-missing'].includes(c.sig)) add('Signature', c.sig === 'dup-sig-header' ? [signature, signature] : signature);
  if (c.junk === 'junk-headers') add('X-Junk', 'a'.repeat(100));
  if (c.junk === 'huge-header') add('X-Huge', 'h'.repeat(20_000));
  if (c.junk === 'bad-header-name') add('Bad Header', 'x');
  if (c.junk === 'garbage-request') return { text: randomBytes(64 + (c.seed % 200)), sessionId: undefined };
  const text = `${c.method} ${path} HTTP/1.1\r\n${headers.map(([n, v]) => `${n}: ${v}`).join('\r\n')}\r\n\r\n`;
  return { text, sessionId: typeof sentSession === 'string' ? sentSession : undefined };
}

// ---- the answers a correct server may give -----------------------------------------------------

export interface Expected {
  /** Statuses a correct server may answer with (101 = accepted). */
  statuses: number[];
  /** Whether a refusal is decided by the server's upgrade handler (and must be counted); 'ws' = by the WebSocket handshake. */
  by: 'http' | 'parser' | 'upgrade' | 'ws';
  why: string;
}

export function expected(c: UpgradeCase): Expected {
  if (c.junk === 'garbage-request' || c.junk === 'huge-header' || c.junk === 'bad-header-name') return { statuses: [400, 431], by: 'parser', why: `${c.junk}: malformed HTTP` };
  if (c.method === 'get' || c.method === 'FOO') return { statuses: [400], by: 'parser', why: `request line '${c.method} ${c.path}'` };
  const isUpgrade = c.ws !== 'no-upgrade' && c.ws !== 'connection-keep-alive';
  const pathOk = c.path.split('?')[0] === '/audiohook';
  if (!isUpgrade) {
    const noHost = c.host === 'absent' ? [400] : [];
    if (c.method !== 'GET' && c.method !== 'HEAD') return { statuses: [405, ...noHost], by: 'http', why: 'plain request, not GET' };
    return pathOk ? { statuses: [426, ...noHost], by: 'http', why: 'plain GET of the upgrade path' } : { statuses: [404, ...noHost], by: 'http', why: 'plain GET elsewhere' };
  }
  if (!pathOk) return { statuses: [404], by: 'upgrade', why: `path ${c.path}` };
  for (const [name, m] of [['organization', c.org], ['session', c.session], ['correlation', c.correlation]] as const) {
    if (m === 'invalid' || m === 'empty' || m === 'absent' || m === 'duplicated') return { statuses: [400], by: 'upgrade', why: `${name} id ${m}` };
  }
  if (c.key === 'absent' || c.key === 'empty') return { statuses: [401], by: 'upgrade', why: `API key ${c.key}` };
  if (c.org === 'not-allowed') return { statuses: [401], by: 'upgrade', why: 'organization not allowed' };
  if (c.key === 'unknown' || c.key === 'duplicated') return { statuses: [401], by: 'upgrade', why: `API key ${c.key}` };
  if (c.key === 'signed') {
    // Values the signature covers were changed after signing; whitespace and header-name case are not changes.
    if (c.after === 'session' || c.after === 'path-query' || c.after === 'host') return { statuses: [401], by: 'upgrade', why: `${c.after} changed after signing` };
    if (c.host === 'absent') return { statuses: [401], by: 'upgrade', why: 'no Host: the signed @authority cannot match' };
    if (SIG_BAD.includes(c.sig)) return { statuses: [401], by: 'upgrade', why: `signature: ${c.sig}` };
    if (SIG_UNSURE.includes(c.sig)) {
      const ws = wsLevel(c);
      return { statuses: ws ? [401, ...ws.statuses] : [101, 401], by: 'upgrade', why: `signature: ${c.sig} (either)` };
    }
  }
  return wsLevel(c) ?? { statuses: [101], by: 'upgrade', why: 'valid upgrade' };
}

/**
 * Whether the server must count this answer in audiohook_upgrades_rejected_total: 1 = yes, 0 = no
 * (accepted, or not an upgrade at all), 'ws' = refused by the WebSocket handshake after
 * authentication (should count too: see D1).
 */
export function mustCount(c: UpgradeCase, status: number): 0 | 1 | 'ws' {
  const e = expected(c);
  if (status === 101 || e.by === 'parser' || e.by === 'http') return 0;
  if (e.by === 'ws') return 'ws';
  if (SIG_UNSURE.includes(c.sig) && wsLevel(c) && status !== 401) return 'ws';
  return 1;
}

/** The WebSocket handshake's own checks (after authentication). */
export function wsLevel(c: UpgradeCase): Expected | undefined {
  if (c.method !== 'GET') return { statuses: [405], by: 'ws', why: `method ${c.method}` };
  if (c.ws === 'upgrade-h2c' || c.ws === 'no-key' || c.ws === 'bad-key' || c.ws === 'version-99' || c.ws === 'no-version') return { statuses: [400], by: 'ws', why: `WebSocket handshake: ${c.ws}` };
  return undefined;
}

// ---- sending it --------------------------------------------------------------------------------

export interface Answer {
  status: number | undefined;
  /** The connection closed without a status line. */
  closedWithoutAnswer: boolean;
  ms: number;
}

/** Sends the raw request; resolves with the status line's code (the socket is closed at once). */
export function send(port: number, req: BuiltRequest, timeoutMs: number): Promise<Answer> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let buf = '';
    let done = false;
    const finish = (status: number | undefined, closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ status, closedWithoutAnswer: closed, ms: Date.now() - t0 });
    };
    const timer = setTimeout(() => finish(undefined, false), timeoutMs);
    s.on('connect', () => s.write(req.text));
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const eol = buf.indexOf('\r\n');
      if (eol >= 0) finish(Number(/^HTTP\/1\.1 (\d{3})/.exec(buf.slice(0, eol))?.[1] ?? 0), false);
    });
    s.on('close', () => finish(undefined, true));
    s.on('error', () => {});
  });
}
