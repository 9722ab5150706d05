/**
 * How instants and durations are written for people, on pages and in emails:
 * in words, relative to now ("in 4 minutes", "3 days ago"), with the
 * absolute time beside them ("at 10:14 UTC", "on 2 January 2025 at 10:14
 * UTC"). On pages the absolute part is a `<time datetime>` element whose
 * spaces are non-breaking (and style.css keeps `time` on one line), so a
 * date is never split across lines. Times are in UTC: the example does not
 * know the reader's time zone, and says so rather than guess.
 */
import { html, type SafeHtml } from './html.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const NBSP = '\u00a0';

/**
 * Which way an instant is rounded to the minute in words: `up` for a time
 * something starts working ("try again at", "works from": never too early),
 * `down` for a deadline ("expires at": never too late) and for past events.
 */
export type Rounding = 'up' | 'down';

function plural(count: number, unit: string): string {
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

/** `24 hours`, `5 minutes`, `30 seconds`, `1 day 2 hours`: at most the two largest units (an exact length, such as a waiting period). */
export function formatDuration(ms: number): string {
  const units: Array<[string, number]> = [
    ['day', DAY],
    ['hour', HOUR],
    ['minute', MINUTE],
    ['second', SECOND],
  ];
  const parts: string[] = [];
  let rest = Math.max(0, Math.round(ms / 1000) * 1000);
  for (const [name, size] of units) {
    const count = Math.floor(rest / size);
    if (count > 0 && parts.length < 2) parts.push(plural(count, name));
    if (parts.length > 0) rest -= count * size;
  }
  return parts.length > 0 ? parts.join(' ') : 'no time';
}

/** A length rounded as people say it: `30 seconds`, `4 minutes`, `2 hours 5 minutes`, `3 days 2 hours`. */
export function roughDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < MINUTE) return plural(Math.max(1, Math.round(abs / SECOND)), 'second');
  if (abs < HOUR) return plural(Math.min(60, Math.round(abs / MINUTE)), 'minute');
  if (abs < DAY) {
    const minutes = Math.round(abs / MINUTE);
    const hours = Math.floor(minutes / 60);
    const rest = minutes % 60;
    return rest === 0 ? plural(hours, 'hour') : `${plural(hours, 'hour')} ${plural(rest, 'minute')}`;
  }
  const hours = Math.round(abs / HOUR);
  const days = Math.floor(hours / 24);
  const rest = hours % 24;
  return rest === 0 ? plural(days, 'day') : `${plural(days, 'day')} ${plural(rest, 'hour')}`;
}

/** `in 4 minutes`, `3 days ago`, or `just now` (within a second). */
export function relativeTime(ms: number, now: number): string {
  const diff = ms - now;
  if (Math.abs(diff) < SECOND) return 'just now';
  return diff > 0 ? `in ${roughDuration(diff)}` : `${roughDuration(diff)} ago`;
}

function roundToMinute(ms: number, rounding: Rounding): number {
  return rounding === 'up' ? Math.ceil(ms / MINUTE) * MINUTE : Math.floor(ms / MINUTE) * MINUTE;
}

function clock(date: Date): string {
  return `${String(date.getUTCHours()).padStart(2, '0')}:${String(date.getUTCMinutes()).padStart(2, '0')}`;
}

function day(date: Date): string {
  return `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}`;
}

function sameUtcDay(a: number, b: number): boolean {
  return new Date(a).toISOString().slice(0, 10) === new Date(b).toISOString().slice(0, 10);
}

/**
 * The absolute time in words, with its preposition: `at 10:14 UTC` on the
 * day of `now`, `on 2 January 2025 at 10:14 UTC` on another day.
 */
function absoluteParts(ms: number, now: number, rounding: Rounding): { preposition: 'at' | 'on'; words: string } {
  const date = new Date(roundToMinute(ms, rounding));
  if (sameUtcDay(date.getTime(), now)) return { preposition: 'at', words: `${clock(date)} UTC` };
  return { preposition: 'on', words: `${day(date)} at ${clock(date)} UTC` };
}

/** `at 10:14 UTC` or `on 2 January 2025 at 10:14 UTC` (plain text). */
export function absoluteTime(ms: number, now: number, rounding: Rounding = 'down'): string {
  const { preposition, words } = absoluteParts(ms, now, rounding);
  return `${preposition} ${words}`;
}

/** The `<time datetime>` element of an instant, its words unbreakable: `10:14 UTC`, `2 January 2025 at 10:14 UTC`. */
export function timeElement(ms: number, now: number, rounding: Rounding = 'down'): { preposition: 'at' | 'on'; element: SafeHtml } {
  const { preposition, words } = absoluteParts(ms, now, rounding);
  return { preposition, element: html`<time datetime="${new Date(ms).toISOString()}">${words.replace(/ /g, NBSP)}</time>` };
}

/**
 * An instant on a page: the relative words, then the absolute time in a
 * `<time>` element: `in 4 minutes, at <time>10:14 UTC</time>`,
 * `3 days ago, on <time>1 January 2025 at 09:00 UTC</time>`.
 */
export function when(ms: number, now: number, rounding: Rounding = 'down'): SafeHtml {
  const { preposition, element } = timeElement(ms, now, rounding);
  return html`${relativeTime(ms, now)}, ${preposition} ${element}`;
}

/** The same as plain text: `in 4 minutes, at 10:14 UTC`. */
export function whenText(ms: number, now: number, rounding: Rounding = 'down'): string {
  return `${relativeTime(ms, now)}, ${absoluteTime(ms, now, rounding)}`;
}

/**
 * An instant in an email, read later than it is sent: always with the date,
 * `10:14 UTC on 1 January 2025`.
 */
export function emailTime(ms: number, rounding: Rounding = 'down'): string {
  const date = new Date(roundToMinute(ms, rounding));
  return `${clock(date)} UTC on ${day(date)}`;
}

/** A future instant in an email, relative to when it is sent: `in 24 hours (at 10:14 UTC on 2 January 2025)`. */
export function emailWhen(ms: number, sentAt: number, rounding: Rounding = 'down'): string {
  return `${relativeTime(ms, sentAt)} (at ${emailTime(ms, rounding)})`;
}
