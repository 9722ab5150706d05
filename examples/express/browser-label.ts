/**
 * A short name for a remembered browser, such as "Firefox on Linux", shown
 * in the account page's list so the owner can tell their browsers apart.
 *
 * The User-Agent header is whatever the client says: it is used for this
 * name and for nothing else (never to decide anything). Only a fixed
 * vocabulary comes out, never a piece of the header, so a crafted header
 * cannot put markup, control characters or a long string into the label;
 * {@link safeLabel} checks the result again against twofold's label rules
 * (1..64 characters, no control characters).
 */

/** Only the start of the header is looked at: real ones are a few hundred characters. */
const MAX_SCANNED = 512;
/** twofold's limit for `rememberDevice.label`. */
const MAX_LABEL = 64;
export const UNKNOWN_BROWSER = 'Unknown browser';

/** First match wins: the more specific tokens first (Edge and Opera also say "Chrome", Chrome also says "Safari"). */
const BROWSERS: ReadonlyArray<[RegExp, string]> = [
  [/\bEdg(?:e|A|iOS)?\//, 'Edge'],
  [/\b(?:OPR|Opera)\//, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\b(?:Firefox|FxiOS)\//, 'Firefox'],
  [/(?:Chrome|CriOS|Chromium)\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
];

/** iOS before macOS (iPads say "Mac OS X"), Android and ChromeOS before Linux. */
const SYSTEMS: ReadonlyArray<[RegExp, string]> = [
  [/\b(?:iPhone|iPad|iPod)\b/, 'iOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\b(?:Macintosh|Mac OS X)\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
];

/** "Chrome on Linux", "Safari on iOS", "Firefox", or "Unknown browser". */
export function browserLabel(userAgent: string | undefined): string {
  const ua = (userAgent ?? '').slice(0, MAX_SCANNED);
  const browser = BROWSERS.find(([pattern]) => pattern.test(ua))?.[1];
  const system = SYSTEMS.find(([pattern]) => pattern.test(ua))?.[1];
  return safeLabel(browser === undefined ? UNKNOWN_BROWSER : system === undefined ? browser : `${browser} on ${system}`);
}

/**
 * `text` as a label twofold accepts: whitespace collapsed to single spaces,
 * other control characters removed, at most 64 UTF-16 units without splitting a character; the
 * fallback when nothing is left.
 */
export function safeLabel(text: string): string {
  // eslint-disable-next-line no-control-regex
  const cleaned = text
    .replace(/\s+/g, ' ')
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, '')
    .trim();
  let out = '';
  for (const char of cleaned) {
    if (out.length + char.length > MAX_LABEL) break;
    out += char;
  }
  out = out.trim();
  return out.length > 0 && out.isWellFormed() ? out : UNKNOWN_BROWSER;
}
