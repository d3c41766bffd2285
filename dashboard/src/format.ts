const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** Bytes in binary units with three significant digits: 1536 → "1.50 KiB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1024) return `${Math.max(0, Math.round(bytes))} B`;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/** A ratio 0..1 as a percentage with one decimal: 0.8734 → "87.3 %". */
export function formatPercent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)} %`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** An RFC 3339 time as "2026-03-01 14:05 UTC"; null is "never". */
export function formatTime(iso: string | null): string {
  if (!iso) return 'never';
  const d = new Date(iso);
  return `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 16)} UTC`;
}

export function formatDay(iso: string): string {
  return new Date(iso).toISOString().slice(0, 10);
}

/** "3 days ago", "5 min ago": how long since a node last reported. */
export function formatAge(iso: string, now: Date): string {
  const seconds = Math.max(0, (now.getTime() - new Date(iso).getTime()) / 1000);
  if (seconds < 90) return `${Math.round(seconds)} s ago`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 36 * 3600) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} days ago`;
}

const GiB = 1024 ** 3;

export function gibToBytes(gib: number): number {
  return Math.round(gib * GiB);
}

export function bytesToGib(bytes: number): number {
  return bytes / GiB;
}
