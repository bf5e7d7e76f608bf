/**
 * Upgrade authentication policy (protocol §8), pure. The caller adds the minimum failure delay
 * (~500 ms) and turns the result into an HTTP status.
 */
import { headerValue, safeEqual, verifySignature, type HeaderMap } from './signature.js';

export const NULL_UUID = '00000000-0000-0000-0000-000000000000';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Any RFC 4122-shaped UUID (version/variant not checked: Genesys uses the null UUID in probes). */
export function isUuid(s: unknown): s is string {
  return typeof s === 'string' && UUID_RE.test(s);
}

export interface AuthConfig {
  /**
   * API key → base64 client secret; '' means unsigned requests are allowed for that key.
   * null disables authentication (development): any X-API-KEY is accepted, signatures ignored.
   */
  keys: ReadonlyMap<string, string> | null;
  /** null = any organization. */
  allowedOrgIds: ReadonlySet<string> | null;
  maxAgeSeconds?: number;
  maxSkewSeconds?: number;
}

export interface UpgradeRequest {
  /** Path and query as received. */
  requestTarget: string;
  /** The host the client used (after trusted forwarded headers). */
  authority: string;
  /** Lower-case names, as Node gives them. */
  headers: HeaderMap;
}

export type AuthResult =
  | { ok: true; organizationId: string; sessionId: string; correlationId: string; apiKey: string }
  | { ok: false; status: 400 | 401; reason: string };

const ID_HEADERS = ['audiohook-organization-id', 'audiohook-session-id', 'audiohook-correlation-id'] as const;

/** Finds the secret for `apiKey`, comparing against every key so timing does not reveal matches. */
function lookupSecret(keys: ReadonlyMap<string, string>, apiKey: string): string | undefined {
  let found: string | undefined;
  for (const [key, secret] of keys) {
    // No early exit: every configured key costs the same whether it matches or not.
    if (safeEqual(key, apiKey) && found === undefined) found = secret;
  }
  return found;
}

export function authenticateUpgrade(req: UpgradeRequest, config: AuthConfig, nowSeconds: number): AuthResult {
  const ids: string[] = [];
  for (const name of ID_HEADERS) {
    const value = headerValue(req.headers, name);
    if (value === undefined || value === '') return { ok: false, status: 400, reason: `missing ${name} header` };
    if (!isUuid(value)) return { ok: false, status: 400, reason: `invalid ${name} header` };
    ids.push(value);
  }
  const [organizationId = '', sessionId = '', correlationId = ''] = ids;

  const apiKey = headerValue(req.headers, 'x-api-key');
  if (apiKey === undefined || apiKey === '') return { ok: false, status: 401, reason: 'missing API key' };

  if (
    config.allowedOrgIds !== null &&
    !config.allowedOrgIds.has(organizationId) &&
    !config.allowedOrgIds.has(organizationId.toLowerCase())
  ) {
    return { ok: false, status: 401, reason: 'organization not allowed' };
  }

  const ok = { ok: true as const, organizationId, sessionId, correlationId, apiKey };
  if (config.keys === null) return ok;

  const secret = lookupSecret(config.keys, apiKey);
  const verify = (clientSecret: string | undefined) =>
    verifySignature({
      authority: req.authority,
      requestTarget: req.requestTarget,
      headers: req.headers,
      clientSecret,
      apiKey,
      nowSeconds,
      ...(config.maxAgeSeconds === undefined ? {} : { maxAgeSeconds: config.maxAgeSeconds }),
      ...(config.maxSkewSeconds === undefined ? {} : { maxSkewSeconds: config.maxSkewSeconds }),
    });

  if (secret === undefined) {
    verify(undefined); // burn the same time as a real check; the result is irrelevant
    return { ok: false, status: 401, reason: 'unknown API key' };
  }
  if (secret === '') return ok; // key configured for unsigned use: any signature is ignored
  const result = verify(secret);
  return result.ok ? ok : { ok: false, status: 401, reason: result.reason };
}
