/** Calendar ranges as the API takes them: ISO dates, both ends included. */
export interface DateRange {
  from: string;
  to: string;
}

export type Preset = '7d' | '30d' | '90d' | '12m' | 'year';

export const PRESETS: { id: Preset; label: string }[] = [
  { id: '7d', label: 'Last 7 days' },
  { id: '30d', label: 'Last 30 days' },
  { id: '90d', label: 'Last 90 days' },
  { id: '12m', label: 'Last 12 months' },
  { id: 'year', label: 'This year' },
];

const DAY_MS = 86_400_000;

function parse(iso: string): number {
  const [y, m, d] = iso.split('-').map(Number);
  return Date.UTC(y, m - 1, d);
}

function format(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function addDays(iso: string, days: number): string {
  return format(parse(iso) + days * DAY_MS);
}

/** Days in a range, both ends counted. */
export function lengthInDays(range: DateRange): number {
  return Math.round((parse(range.to) - parse(range.from)) / DAY_MS) + 1;
}

/** A preset ending today (`today` as an ISO date). */
export function presetRange(preset: Preset, today: string): DateRange {
  switch (preset) {
    case '7d':
      return { from: addDays(today, -6), to: today };
    case '30d':
      return { from: addDays(today, -29), to: today };
    case '90d':
      return { from: addDays(today, -89), to: today };
    case '12m':
      return { from: addDays(today, -364), to: today };
    case 'year':
      return { from: `${today.slice(0, 4)}-01-01`, to: today };
  }
}

/** The range of equal length just before `range`, as the API compares. */
export function previousPeriod(range: DateRange): DateRange {
  const days = lengthInDays(range);
  return { from: addDays(range.from, -days), to: addDays(range.from, -1) };
}

const ISO = /^\d{4}-\d{2}-\d{2}$/;

/** Why a custom range cannot be asked for, or null when it can. */
export function rangeProblem(range: DateRange): string | null {
  if (!ISO.test(range.from) || !ISO.test(range.to) || Number.isNaN(parse(range.from)) || Number.isNaN(parse(range.to))) {
    return 'Enter both dates.';
  }
  if (range.from > range.to) {
    return 'The start is after the end.';
  }
  if (lengthInDays(range) > 3 * 366) {
    return 'Choose at most three years.';
  }
  return null;
}

/** Today's date where the browser is. */
export function localToday(now: Date = new Date()): string {
  const offset = now.getTimezoneOffset() * 60_000;
  return new Date(now.getTime() - offset).toISOString().slice(0, 10);
}

/** A duration as people read it: "45 s", "3 min", "1 h 20 min". */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  if (whole < 90) return `${whole} s`;
  const minutes = Math.round(whole / 60);
  if (minutes < 90) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** An estimate shown, and when it was shown. */
export interface ShownEstimate {
  seconds: number;
  atMs: number;
}

/**
 * What to show as time left, given what was shown before and a new estimate: a countdown
 * that only goes down, following a new estimate that is lower, and jumping up only when the
 * new one is far above it (over twice, plus ten seconds), so a bursty sync reads as a steady
 * clock.
 */
export function steadyEstimate(previous: ShownEstimate | null, estimate: number, nowMs: number): ShownEstimate {
  if (!previous) return { seconds: estimate, atMs: nowMs };
  const counted = Math.max(0, previous.seconds - (nowMs - previous.atMs) / 1000);
  if (estimate > counted * 2 + 10) return { seconds: estimate, atMs: nowMs };
  return { seconds: Math.min(counted, estimate), atMs: nowMs };
}
