/**
 * AudioHook Duration values (protocol §2).
 *
 * We only ever write `PT<seconds>S` (the client rejects minutes, hours and exponents), but read the
 * full ISO-8601 `PnDTnHnMnS` form because some fields (e.g. `retryAfter`) may use it.
 */

/** Formats seconds as `PT<seconds>S` with at most 3 decimals, trailing zeros trimmed. */
export function formatDuration(seconds: number): string {
  // Clamp anything unrepresentable: a Duration is never negative and never NaN/Infinity.
  if (!Number.isFinite(seconds) || seconds <= 0) return 'PT0S';
  let text = seconds.toFixed(3);
  // toFixed switches to exponent notation from 1e21; no real stream gets there, but never emit it.
  if (/e/i.test(text)) return 'PT0S';
  text = text.replace(/\.?0+$/, '');
  return `PT${text === '' ? '0' : text}S`;
}

// Each unit may carry a fraction (ISO allows it on the smallest unit only; we are lenient).
// `,` is ISO's alternative decimal sign. Years and months are rejected: their length in seconds is
// not defined without a calendar.
const NUM = '(\\d+(?:[.,]\\d+)?)';
const DURATION_RE = new RegExp(`^P(?:${NUM}W)?(?:${NUM}D)?(?:T(?:${NUM}H)?(?:${NUM}M)?(?:${NUM}S)?)?$`, 'i');
const UNIT_SECONDS = [7 * 86400, 86400, 3600, 60, 1] as const;

/**
 * Parses an ISO-8601 duration to seconds. Lenient about the form (`PT1M5S` → 65, `P1DT2H`,
 * `PT0.5S`), but returns undefined for anything that is not a non-negative duration.
 */
export function parseDuration(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const trimmed = text.trim();
  const match = DURATION_RE.exec(trimmed);
  if (!match) return undefined;
  // `P` and `PT` alone match the pattern but carry no value; `PT` with nothing after T is invalid.
  if (match.slice(1).every((g) => g === undefined)) return undefined;
  if (/T$/i.test(trimmed)) return undefined;
  let total = 0;
  for (let i = 0; i < UNIT_SECONDS.length; i++) {
    const group = match[i + 1];
    if (group === undefined) continue;
    total += Number(group.replace(',', '.')) * (UNIT_SECONDS[i] ?? 0);
  }
  return Number.isFinite(total) ? total : undefined;
}
