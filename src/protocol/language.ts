/**
 * BCP-47 language tags as Genesys and the configuration give them: validated and put in their
 * canonical case (`es-es` → `es-ES`, `cmn-hans-cn` → `cmn-Hans-CN`), never swapped for another
 * tag. `Intl.getCanonicalLocales` validates, but it also replaces deprecated or macro-language
 * subtags (`cmn` → `zh`, `iw` → `he`, `tl` → `fil`): a vendor may know the user's tag and not
 * ours, so the user's subtags are kept and only their case is fixed.
 */

/** The canonical form of `tag`, or undefined when it is not a usable language tag. */
export function normalizeLanguageTag(tag: string): string | undefined {
  const input = tag.trim().replace(/_/g, '-');
  // ISO 639 languages are 2–3 letters; BCP 47's 4–8-letter primary subtags are reserved or unused
  // (and `english` would otherwise pass).
  if (input.length > 64 || !/^[A-Za-z]{2,3}(-|$)/.test(input)) return undefined;
  let canonical: string | undefined;
  try {
    canonical = Intl.getCanonicalLocales(input)[0];
  } catch {
    return undefined;
  }
  // `und` (undetermined) names no language: nothing an engine could recognize.
  if (!canonical || canonical.toLowerCase().split('-')[0] === 'und') return undefined;
  if (canonical.toLowerCase() === input.toLowerCase()) return canonical;
  return fixCase(input);
}

/** BCP-47 case conventions: language lower, script Title, region upper, the rest lower. */
function fixCase(tag: string): string {
  let singleton = false;
  return tag
    .split('-')
    .map((part, i) => {
      const lower = part.toLowerCase();
      if (i === 0 || singleton) return lower;
      if (part.length === 1) {
        singleton = true; // an extension or private-use part: lower case to the end
        return lower;
      }
      if (part.length === 4 && /^[a-z]+$/i.test(part)) return lower[0]!.toUpperCase() + lower.slice(1);
      if (part.length === 2 && /^[a-z]+$/i.test(part)) return part.toUpperCase();
      return lower;
    })
    .join('-');
}

/**
 * Primary subtags that name the same written language for transcription and translation:
 * deprecated codes and the macro-language members Genesys and vendors use interchangeably.
 */
const SAME_LANGUAGE: Readonly<Record<string, string>> = { cmn: 'zh', iw: 'he', in: 'id', ji: 'yi', tl: 'fil', mo: 'ro', nb: 'no', jw: 'jv' };

/** `cmn-Hans-CN` → `zh`, `en-US` → `en`: the language, for comparing two tags. */
export function primaryLanguage(tag: string): string {
  const primary = (tag.split(/[-_]/)[0] ?? '').toLowerCase();
  return SAME_LANGUAGE[primary] ?? primary;
}

/** Whether two tags name the same language (region and script aside). */
export function sameLanguage(a: string, b: string): boolean {
  return primaryLanguage(a) === primaryLanguage(b);
}
