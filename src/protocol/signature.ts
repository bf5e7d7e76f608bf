/**
 * HTTP Message Signatures for the AudioHook upgrade (protocol §8; RFC 9421 profile, RFC 8941
 * structured fields). Pure: the caller supplies the clock and the secret.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const REQUIRED_COMPONENTS = [
  '@request-target',
  '@authority',
  'audiohook-organization-id',
  'audiohook-session-id',
  'audiohook-correlation-id',
  'x-api-key',
] as const;

export const SIGNATURE_ALG = 'hmac-sha256';
export const MIN_NONCE_LENGTH = 22;

export interface SignatureParams {
  keyid?: string;
  nonce?: string;
  alg?: string;
  created?: number;
  expires?: number;
}

export interface SignatureInput {
  label: string;
  components: string[];
  params: SignatureParams;
  /** The member value exactly as sent (`(...)` plus parameters): the `@signature-params` value. */
  rawInnerList: string;
}

export type HeaderMap = Record<string, string | string[] | undefined>;

// ---------------------------------------------------------------------------------------------
// Minimal RFC 8941 parser: dictionaries whose members are inner lists or bare items.

type Bare = string | number | boolean | Uint8Array | { token: string };
interface Member { value: Bare | Array<{ value: Bare; params: Map<string, Bare> }>; params: Map<string, Bare>; raw: string }

class SfParser {
  i = 0;
  constructor(private readonly s: string) {}

  private peek(): string | undefined { return this.s[this.i]; }
  private skip(re: RegExp): void { while (this.i < this.s.length && re.test(this.s[this.i] ?? '')) this.i++; }
  private fail(): never { throw new SyntaxError('malformed structured field'); }

  dictionary(): Map<string, Member> {
    const out = new Map<string, Member>();
    this.skip(/ /);
    while (this.i < this.s.length) {
      const key = this.key();
      const start = this.i + 1;
      let member: Member;
      if (this.peek() === '=') {
        this.i++;
        const value = this.peek() === '(' ? this.innerList() : this.bareItem();
        const params = this.params();
        member = { value, params, raw: this.s.slice(start, this.i) };
      } else {
        member = { value: true, params: this.params(), raw: '' };
      }
      out.set(key, member); // RFC 8941: a repeated key overrides the earlier one
      this.skip(/[ \t]/);
      if (this.i >= this.s.length) break;
      if (this.peek() !== ',') this.fail();
      this.i++;
      this.skip(/[ \t]/);
      if (this.i >= this.s.length) this.fail(); // trailing comma
    }
    return out;
  }

  private key(): string {
    const m = /^[a-z*][a-z0-9_\-.*]*/.exec(this.s.slice(this.i));
    if (!m) this.fail();
    this.i += m[0].length;
    return m[0];
  }

  private innerList(): Array<{ value: Bare; params: Map<string, Bare> }> {
    this.i++; // '('
    const items: Array<{ value: Bare; params: Map<string, Bare> }> = [];
    for (;;) {
      this.skip(/ /);
      if (this.peek() === ')') { this.i++; return items; }
      items.push({ value: this.bareItem(), params: this.params() });
      const c = this.peek();
      if (c !== ' ' && c !== ')') this.fail();
    }
  }

  private params(): Map<string, Bare> {
    const out = new Map<string, Bare>();
    while (this.peek() === ';') {
      this.i++;
      this.skip(/ /);
      const key = this.key();
      let value: Bare = true;
      if (this.peek() === '=') { this.i++; value = this.bareItem(); }
      out.set(key, value);
    }
    return out;
  }

  private bareItem(): Bare {
    const c = this.peek();
    const rest = this.s.slice(this.i);
    if (c === '"') {
      let out = '';
      for (this.i++; this.i < this.s.length; this.i++) {
        const ch = this.s[this.i] ?? '';
        if (ch === '\\') {
          const next = this.s[++this.i];
          if (next !== '"' && next !== '\\') this.fail();
          out += next;
        } else if (ch === '"') {
          this.i++;
          return out;
        } else if (ch < ' ' || ch > '~') this.fail();
        else out += ch;
      }
      this.fail(); // unterminated
    }
    if (c === ':') {
      const m = /^:([A-Za-z0-9+/=]*):/.exec(rest);
      if (!m) this.fail();
      this.i += m[0].length;
      return new Uint8Array(Buffer.from(m[1] ?? '', 'base64'));
    }
    if (c === '?') {
      const m = /^\?[01]/.exec(rest);
      if (!m) this.fail();
      this.i += 2;
      return m[0] === '?1';
    }
    const num = /^-?\d{1,15}(\.\d{1,3})?/.exec(rest);
    if (num) {
      this.i += num[0].length;
      return Number(num[0]);
    }
    const token = /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*/.exec(rest);
    if (token) {
      this.i += token[0].length;
      return { token: token[0] };
    }
    this.fail();
  }
}

function parseDictionary(header: string): Map<string, Member> | undefined {
  try {
    return new SfParser(header.trim()).dictionary();
  } catch {
    return undefined;
  }
}

/** Parses `Signature-Input`; returns its first member, or undefined when malformed. */
export function parseSignatureInput(header: string): SignatureInput | undefined {
  const dict = parseDictionary(header);
  const first = dict?.entries().next().value;
  if (!first) return undefined;
  const [label, member] = first;
  if (!Array.isArray(member.value)) return undefined;
  const components: string[] = [];
  for (const item of member.value) {
    // Component parameters (`;sf`, `;key`…) are outside this profile.
    if (typeof item.value !== 'string' || item.params.size > 0) return undefined;
    if (components.includes(item.value)) return undefined; // RFC 9421: duplicates are an error
    components.push(item.value);
  }
  const params: SignatureParams = {};
  for (const [key, value] of member.params) {
    if (key === 'keyid' || key === 'nonce' || key === 'alg') {
      if (typeof value !== 'string') return undefined;
      params[key] = value;
    } else if (key === 'created' || key === 'expires') {
      if (typeof value !== 'number' || !Number.isInteger(value)) return undefined;
      params[key] = value;
    }
  }
  return { label, components, params, rawInnerList: member.raw };
}

// ---------------------------------------------------------------------------------------------
// Signature base and verification

/**
 * Builds the RFC 9421 signature base; undefined when a covered component has no value or a value
 * that would break the line format.
 */
export function signatureBase(
  components: readonly string[],
  values: (name: string) => string | undefined,
  rawInnerList: string,
): string | undefined {
  const lines: string[] = [];
  for (const name of components) {
    const value = values(name);
    if (value === undefined || /[\r\n]/.test(value)) return undefined;
    lines.push(`"${name}": ${value}`);
  }
  lines.push(`"@signature-params": ${rawInnerList}`);
  return lines.join('\n');
}

/** A header as one string: repeated headers are combined as HTTP does, then trimmed. */
export function headerValue(headers: HeaderMap, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v.join(', ') : v).trim();
}

function componentValues(requestTarget: string, authority: string, headers: HeaderMap) {
  return (name: string): string | undefined => {
    if (name === '@request-target') return requestTarget;
    if (name === '@authority') return authority.trim().toLowerCase(); // RFC 9421 §2.2.3
    if (name.startsWith('@')) return undefined; // other derived components are not in the profile
    return headerValue(headers, name);
  };
}

const DUMMY_KEY = randomBytes(32);

function mac(key: Buffer, base: string): Buffer {
  return createHmac('sha256', key).update(base, 'utf8').digest();
}

/** Constant-time string equality (hashing first so lengths do not leak either). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

export interface VerifyInput {
  authority: string;
  requestTarget: string;
  headers: HeaderMap;
  /** Base64; undefined (unknown key) → checked against a dummy key, and always fails. */
  clientSecret: string | undefined;
  apiKey: string;
  nowSeconds: number;
  maxAgeSeconds?: number;
  maxSkewSeconds?: number;
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

export function verifySignature(input: VerifyInput): VerifyResult {
  const { headers, nowSeconds } = input;
  const maxAge = input.maxAgeSeconds ?? 10;
  const maxSkew = input.maxSkewSeconds ?? 5;
  const inputHeader = headerValue(headers, 'signature-input');
  const sigHeader = headerValue(headers, 'signature');
  if (!inputHeader || !sigHeader) return { ok: false, reason: 'missing signature' };

  const sigInput = parseSignatureInput(inputHeader);
  if (!sigInput) return { ok: false, reason: 'malformed signature-input' };
  const sigDict = parseDictionary(sigHeader);
  if (!sigDict) return { ok: false, reason: 'malformed signature' };
  const sigMember = sigDict.get(sigInput.label);
  if (!sigMember) return { ok: false, reason: 'signature label mismatch' };
  if (!(sigMember.value instanceof Uint8Array)) return { ok: false, reason: 'malformed signature' };

  for (const c of REQUIRED_COMPONENTS) {
    if (!sigInput.components.includes(c)) return { ok: false, reason: `missing component ${c}` };
  }
  const { keyid, nonce, alg, created, expires } = sigInput.params;
  if (alg !== SIGNATURE_ALG) return { ok: false, reason: 'unsupported alg' };
  if (keyid === undefined || !safeEqual(keyid, input.apiKey)) return { ok: false, reason: 'keyid mismatch' };
  if (nonce === undefined || nonce.length < MIN_NONCE_LENGTH) return { ok: false, reason: 'nonce too short' };
  if (created === undefined) return { ok: false, reason: 'missing created' };
  if (created > nowSeconds + maxSkew) return { ok: false, reason: 'created in the future' };
  if (expires !== undefined && nowSeconds > expires) return { ok: false, reason: 'signature expired' };
  if (nowSeconds - created > maxAge) return { ok: false, reason: 'signature too old' };

  const base = signatureBase(
    sigInput.components,
    componentValues(input.requestTarget, input.authority, headers),
    sigInput.rawInnerList,
  );
  if (base === undefined) return { ok: false, reason: 'missing signed header' };

  // Same work whether or not the key is known, so timing does not reveal which API keys exist.
  const known = input.clientSecret !== undefined && input.clientSecret !== '';
  const key = known ? Buffer.from(input.clientSecret ?? '', 'base64') : DUMMY_KEY;
  const expected = mac(key, base);
  const provided = Buffer.from(sigMember.value);
  const sameLength = provided.length === expected.length;
  const equal = timingSafeEqual(expected, sameLength ? provided : expected) && sameLength;
  if (!known) return { ok: false, reason: 'unknown key' };
  return equal ? { ok: true } : { ok: false, reason: 'bad signature' };
}

// ---------------------------------------------------------------------------------------------
// Signing (CLI client and tests)

/** RFC 8941 sf-string; only printable ASCII is representable. */
function sfString(s: string): string {
  if (!/^[\x20-\x7e]*$/.test(s)) throw new RangeError('value is not printable ASCII');
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

export interface SignInput {
  requestTarget: string;
  authority: string;
  organizationId: string;
  sessionId: string;
  correlationId: string;
  apiKey: string;
  /** Base64. */
  clientSecret: string;
  nowSeconds: number;
  /** Default: 22 random base64url characters. */
  nonce?: string;
  /** Default 10. */
  expiresInSeconds?: number;
  /** Covered components (default: all required ones). Tests use it to sign too little. */
  components?: readonly string[];
  label?: string;
}

export function signRequest(input: SignInput): { 'signature-input': string; signature: string } {
  const label = input.label ?? 'sig1';
  const components = input.components ?? REQUIRED_COMPONENTS;
  const created = Math.floor(input.nowSeconds);
  const expires = created + (input.expiresInSeconds ?? 10);
  const nonce = input.nonce ?? randomBytes(16).toString('base64url').slice(0, MIN_NONCE_LENGTH);
  const inner =
    `(${components.map(sfString).join(' ')})` +
    `;keyid=${sfString(input.apiKey)};nonce=${sfString(nonce)};alg="${SIGNATURE_ALG}"` +
    `;created=${created};expires=${expires}`;
  const headers: HeaderMap = {
    'audiohook-organization-id': input.organizationId,
    'audiohook-session-id': input.sessionId,
    'audiohook-correlation-id': input.correlationId,
    'x-api-key': input.apiKey,
  };
  const base = signatureBase(components, componentValues(input.requestTarget, input.authority, headers), inner);
  if (base === undefined) throw new RangeError('cannot sign: a component has no usable value');
  const sig = mac(Buffer.from(input.clientSecret, 'base64'), base).toString('base64');
  return { 'signature-input': `${label}=${inner}`, signature: `${label}=:${sig}:` };
}
