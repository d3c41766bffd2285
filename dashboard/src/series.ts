import type { GrowthPoint, QuotaState, UsageDay } from './api/types';

/** One row per day for a stacked chart: { day, [group]: value }. */
export type Wide = { day: string } & Record<string, number | string>;

/**
 * Pivots the per-(day, group) usage rows into one row per day with a column per group (0 where a group read
 * nothing that day), ordered by day; `groups` are ordered by total bytes, largest first (the bottom of the stack).
 */
export function stackByGroup(rows: UsageDay[]): { data: Wide[]; groups: string[] } {
  const totals = new Map<string, number>();
  const byDay = new Map<string, Map<string, number>>();
  for (const row of rows) {
    const day = row.date.slice(0, 10);
    totals.set(row.group, (totals.get(row.group) ?? 0) + row.bytes_read);
    const groups = byDay.get(day) ?? new Map<string, number>();
    groups.set(row.group, (groups.get(row.group) ?? 0) + row.bytes_read);
    byDay.set(day, groups);
  }
  const groups = [...totals.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([g]) => g);
  const data = [...byDay.keys()].sort().map((day) => {
    const row: Wide = { day };
    for (const g of groups) row[g] = byDay.get(day)?.get(g) ?? 0;
    return row;
  });
  return { data, groups };
}

export interface HitRatioPoint {
  day: string;
  ratio: number;
  reads: number;
}

/** Cache hit ratio per day over all groups: hits / reads of that day (days without reads are left out). */
export function hitRatioByDay(rows: UsageDay[]): HitRatioPoint[] {
  const byDay = new Map<string, { hits: number; reads: number }>();
  for (const row of rows) {
    const day = row.date.slice(0, 10);
    const t = byDay.get(day) ?? { hits: 0, reads: 0 };
    t.hits += row.cache_hits;
    t.reads += row.reads;
    byDay.set(day, t);
  }
  return [...byDay.entries()]
    .filter(([, t]) => t.reads > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([day, t]) => ({ day, ratio: t.hits / t.reads, reads: t.reads }));
}

/** Totals of a window: bytes read, reads and the overall hit ratio. */
export function totals(rows: UsageDay[]): { bytes: number; reads: number; hitRatio: number } {
  let bytes = 0;
  let reads = 0;
  let hits = 0;
  for (const row of rows) {
    bytes += row.bytes_read;
    reads += row.reads;
    hits += row.cache_hits;
  }
  return { bytes, reads, hitRatio: reads === 0 ? 0 : hits / reads };
}

/**
 * Growth as one row per crawl time (to the second, UTC) with a column per backend (its bytes after that crawl),
 * carried forward so a backend crawled at other times keeps its last known size instead of dropping to zero.
 */
export function growthByBackend(points: GrowthPoint[]): { data: Wide[]; backends: string[] } {
  const backends = [...new Set(points.map((p) => p.backend))].sort();
  const byTime = new Map<string, Map<string, number>>();
  for (const p of [...points].sort((a, b) => a.date.localeCompare(b.date))) {
    const time = new Date(p.date).toISOString().slice(0, 19).replace('T', ' ');
    const m = byTime.get(time) ?? new Map<string, number>();
    m.set(p.backend, p.bytes);
    byTime.set(time, m);
  }
  const last = new Map<string, number>();
  const data = [...byTime.keys()].sort().map((day) => {
    const row: Wide = { day };
    for (const b of backends) {
      const v = byTime.get(day)?.get(b);
      if (v !== undefined) last.set(b, v);
      row[b] = last.get(b) ?? 0;
    }
    return row;
  });
  return { data, backends };
}

/** How a quota state reads to a person, and its colour class. */
export function quotaStateLabel(state: QuotaState): { text: string; tone: 'ok' | 'warn' | 'bad' } {
  switch (state) {
    case 'hard_exceeded':
      return { text: 'over hard limit', tone: 'bad' };
    case 'soft_exceeded':
      return { text: 'over soft limit', tone: 'warn' };
    default:
      return { text: 'within quota', tone: 'ok' };
  }
}

/** A node is healthy when it reported recently; agents flush telemetry every few seconds while they serve reads. */
export const silentAfterMinutes = 15;

export function nodeHealth(lastSeen: string, now: Date): 'reporting' | 'silent' {
  return now.getTime() - new Date(lastSeen).getTime() <= silentAfterMinutes * 60_000 ? 'reporting' : 'silent';
}
