/**
 * DTMF collection: keys gathered into one `dtmf` turn, ended by the terminator (`#`), the
 * maximum length, or a pause between keys. The bot may ask for other limits for its next turn
 * (an account number: 8 digits then `#`).
 */
import type { CallTimers } from './timers.js';

export interface DigitRules {
  /** '' = no terminator. */
  terminator: string;
  interDigitMs: number;
  maxDigits: number;
}

export type DigitsEnd = 'terminator' | 'max' | 'timeout';

export class DigitCollector {
  private digits = '';
  private rules: DigitRules;

  constructor(
    private readonly defaults: DigitRules,
    private readonly timers: CallTimers,
    private readonly onDigits: (digits: string, end: DigitsEnd) => void,
  ) {
    this.rules = defaults;
  }

  get collecting(): boolean {
    return this.digits.length > 0;
  }

  /** The limits for the next collection (the bot's request), or the defaults. */
  expect(request: { maxDigits?: number | undefined; terminator?: string | undefined; interDigitTimeoutMs?: number | undefined } | undefined): void {
    const d = this.defaults;
    this.rules = {
      terminator: request?.terminator !== undefined && /^[0-9*#]?$/.test(request.terminator) ? request.terminator : d.terminator,
      interDigitMs: clamp(request?.interDigitTimeoutMs, 200, 30_000) ?? d.interDigitMs,
      maxDigits: clamp(request?.maxDigits, 1, 64) ?? d.maxDigits,
    };
  }

  push(digit: string): void {
    const rules = this.rules;
    if (rules.terminator && digit === rules.terminator) {
      // A terminator alone still ends the turn: the bot hears an empty entry.
      return this.complete('terminator');
    }
    this.digits += digit;
    if (this.digits.length >= rules.maxDigits) return this.complete('max');
    this.timers.set('inter-digit', rules.interDigitMs, () => this.complete('timeout'));
  }

  /** Forgets keys pressed so far (the call is ending). */
  cancel(): void {
    this.digits = '';
    this.timers.clear('inter-digit');
  }

  private complete(end: DigitsEnd): void {
    const digits = this.digits;
    this.digits = '';
    this.timers.clear('inter-digit');
    this.rules = this.defaults;
    this.onDigits(digits, end);
  }
}

function clamp(v: number | undefined, min: number, max: number): number | undefined {
  if (v === undefined || !Number.isFinite(v)) return undefined;
  return Math.min(max, Math.max(min, Math.round(v)));
}
