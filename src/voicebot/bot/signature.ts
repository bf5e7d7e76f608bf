/**
 * The webhook request signature (Stripe/Slack style): `X-Bot-Timestamp: <unix seconds>` and
 * `X-Bot-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`. Signing the
 * timestamp with the body lets a bot reject both forged and replayed requests.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const TIMESTAMP_HEADER = 'x-bot-timestamp';
export const SIGNATURE_HEADER = 'x-bot-signature';

/** The `X-Bot-Signature` value (`sha256=<hex>`) for `body` sent at `timestamp` (unix seconds). */
export function signBotRequest(secret: string, timestamp: number | string, body: string | Uint8Array): string {
  const hmac = createHmac('sha256', secret);
  hmac.update(`${timestamp}.`);
  // The raw bytes as sent: a bot must verify before it parses (re-serialized JSON would differ).
  hmac.update(body);
  return `sha256=${hmac.digest('hex')}`;
}

/** Node's `req.headers`, a fetch `Headers`, or a plain object (any key case). */
export type SignatureHeaders =
  | { get(name: string): string | null }
  | Record<string, string | string[] | undefined>;

function header(headers: SignatureHeaders, name: string): string | undefined {
  if (typeof headers.get === 'function') return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  // A repeated header is ambiguous: refuse rather than pick one.
  return typeof value === 'string' ? value : undefined;
}

/**
 * Whether a request carries a valid signature made with `secret` at most `maxAgeSeconds` from
 * `nowSeconds` (either way: a clock ahead of ours is as suspect as one behind). Constant-time.
 */
export function verifyBotSignature(
  secret: string,
  headers: SignatureHeaders,
  body: string | Uint8Array,
  nowSeconds: number,
  maxAgeSeconds = 300,
): boolean {
  const timestamp = header(headers, TIMESTAMP_HEADER)?.trim();
  const signature = header(headers, SIGNATURE_HEADER)?.trim();
  if (timestamp === undefined || signature === undefined) return false;
  if (!/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > maxAgeSeconds) return false;
  const expected = Buffer.from(signBotRequest(secret, timestamp, body));
  const given = Buffer.from(signature.toLowerCase());
  // timingSafeEqual needs equal lengths; the length of a well-formed signature is no secret.
  return given.length === expected.length && timingSafeEqual(given, expected);
}
