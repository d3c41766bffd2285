import { describe, expect, it } from 'vitest';
import { formatAge, formatBytes, formatPercent, formatTime, gibToBytes } from './format';

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1536, '1.50 KiB'],
    [10 * 1024 ** 2, '10.0 MiB'],
    [200 * 1024 ** 3, '200 GiB'],
    [3 * 1024 ** 4, '3.00 TiB'],
  ])('%d bytes reads %s', (bytes, text) => expect(formatBytes(bytes)).toBe(text));
});

describe('formatPercent', () => {
  it('shows one decimal', () => expect(formatPercent(0.87344)).toBe('87.3 %'));
});

describe('formatTime', () => {
  it('is UTC to the minute, and null is never', () => {
    expect(formatTime('2026-03-01T14:05:59Z')).toBe('2026-03-01 14:05 UTC');
    expect(formatTime(null)).toBe('never');
  });
});

describe('formatAge', () => {
  const now = new Date('2026-03-01T12:00:00Z');
  it.each([
    ['2026-03-01T11:59:30Z', '30 s ago'],
    ['2026-03-01T11:30:00Z', '30 min ago'],
    ['2026-03-01T02:00:00Z', '10 h ago'],
    ['2026-02-20T12:00:00Z', '9 days ago'],
  ])('%s is %s', (iso, text) => expect(formatAge(iso, now)).toBe(text));
});

describe('gibToBytes', () => {
  it('is binary', () => expect(gibToBytes(1.5)).toBe(1.5 * 1024 ** 3));
});
