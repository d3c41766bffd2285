import { describe, expect, it } from 'vitest';
import type { GrowthPoint, UsageDay } from './api/types';
import { growthByBackend, hitRatioByDay, nodeHealth, quotaStateLabel, stackByGroup, totals } from './series';

const day = (date: string, group: string, bytes: number, reads: number, hits: number): UsageDay => ({
  date: `${date}T00:00:00+00:00`,
  group,
  bytes_read: bytes,
  reads,
  cache_hits: hits,
});

const rows = [day('2026-01-02', 'nlp', 10, 4, 1), day('2026-01-01', 'vision', 100, 10, 9), day('2026-01-02', 'vision', 50, 6, 3)];

describe('stackByGroup', () => {
  it('puts one row per day in day order, a column per team, zero where a team read nothing', () => {
    const { data, groups } = stackByGroup(rows);
    expect(groups).toEqual(['vision', 'nlp']); // largest total at the bottom of the stack
    expect(data).toEqual([
      { day: '2026-01-01', vision: 100, nlp: 0 },
      { day: '2026-01-02', vision: 50, nlp: 10 },
    ]);
  });

  it('is empty for no rows', () => expect(stackByGroup([])).toEqual({ data: [], groups: [] }));
});

describe('hitRatioByDay', () => {
  it('divides the day’s hits by its reads over every team, skipping days without reads', () => {
    expect(hitRatioByDay([...rows, day('2026-01-03', 'nlp', 0, 0, 0)])).toEqual([
      { day: '2026-01-01', ratio: 0.9, reads: 10 },
      { day: '2026-01-02', ratio: 0.4, reads: 10 },
    ]);
  });
});

describe('totals', () => {
  it('sums bytes and reads and weighs the hit ratio by reads', () => expect(totals(rows)).toEqual({ bytes: 160, reads: 20, hitRatio: 13 / 20 }));
  it('has ratio 0 without reads', () => expect(totals([]).hitRatio).toBe(0));
});

describe('growthByBackend', () => {
  const point = (backend: string, date: string, bytes: number): GrowthPoint => ({ backend, date, objects: 1, bytes });
  it('has a row per crawl time and carries a backend’s size forward to crawls of other backends', () => {
    const { data, backends } = growthByBackend([
      point('s3', '2026-01-02T01:00:10.250+00:00', 6),
      point('s3', '2026-01-01T01:00:00Z', 5),
      point('gcs', '2026-01-01T02:00:00Z', 7),
      point('gcs', '2026-01-02T01:00:10.900Z', 9),
    ]);
    expect(backends).toEqual(['gcs', 's3']);
    expect(data).toEqual([
      { day: '2026-01-01 01:00:00', gcs: 0, s3: 5 },
      { day: '2026-01-01 02:00:00', gcs: 7, s3: 5 },
      { day: '2026-01-02 01:00:10', gcs: 9, s3: 6 },
    ]);
  });
});

describe('quotaStateLabel', () => {
  it('names each state and its tone', () => {
    expect(quotaStateLabel('hard_exceeded')).toEqual({ text: 'over hard limit', tone: 'bad' });
    expect(quotaStateLabel('soft_exceeded')).toEqual({ text: 'over soft limit', tone: 'warn' });
    expect(quotaStateLabel('ok')).toEqual({ text: 'within quota', tone: 'ok' });
  });
});

describe('nodeHealth', () => {
  const now = new Date('2026-01-01T12:00:00Z');
  it('is reporting within 15 minutes and silent after', () => {
    expect(nodeHealth('2026-01-01T11:46:00Z', now)).toBe('reporting');
    expect(nodeHealth('2026-01-01T11:44:00Z', now)).toBe('silent');
  });
});
