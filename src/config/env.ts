/**
 * Parsers for environment values, shared by the core configuration and the engines' fragments.
 * Every value arrives as a string; empty strings have already been removed ("not set").
 */
import { z } from 'zod';

export const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no', 'on', 'off', ''].includes(v), 'must be true or false')
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

export const intIn = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

export const numberIn = (min: number, max: number) =>
  z
    .string()
    .trim()
    .transform(Number)
    .pipe(z.number().finite('must be a number').min(min).max(max));

export const positiveNumber = z
  .string()
  .trim()
  .transform(Number)
  .pipe(z.number().positive('must be a positive number').finite());

export const csv = z
  .string()
  .transform((v) => v.split(',').map((s) => s.trim()).filter((s) => s.length > 0));

/** `host`, `host:port` or `[v6]:port`. */
export const hostPort = z
  .string()
  .trim()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/, 'must be host or host:port (no scheme, no path)');

/**
 * What an engine's (or translation's) settings come to: its options, or why it is not configured
 * and which problems (set but wrong values) must stop start-up.
 */
export type Setup<T> = { configured: true; options: T } | { configured: false; reason: string; problems: string[] };

/** A URL on this machine or a private network (plain http to it does not cross the internet). */
export function isLocalUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === 'localhost' || host === '127.0.0.1' || host === '[::1]' || /^(10|192\.168|172\.(1[6-9]|2\d|3[01]))\./.test(host);
  } catch {
    return false;
  }
}
