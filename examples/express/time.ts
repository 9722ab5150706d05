/** How instants and durations are written for people, on pages and in emails. */

/** `2025-01-01 09:30:05 UTC`: unambiguous for every reader, whatever their time zone. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');
}

/** `24 hours`, `5 minutes`, `30 seconds`, `1 day 2 hours`: at most the two largest units. */
export function formatDuration(ms: number): string {
  const units: Array<[string, number]> = [
    ['day', 86_400_000],
    ['hour', 3_600_000],
    ['minute', 60_000],
    ['second', 1000],
  ];
  const parts: string[] = [];
  let rest = Math.max(0, Math.round(ms / 1000) * 1000);
  for (const [name, size] of units) {
    const count = Math.floor(rest / size);
    if (count > 0 && parts.length < 2) parts.push(`${count} ${name}${count === 1 ? '' : 's'}`);
    if (parts.length > 0) rest -= count * size;
  }
  return parts.length > 0 ? parts.join(' ') : 'no time';
}
