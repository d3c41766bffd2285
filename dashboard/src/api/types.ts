// The governance API v1 answers (snake_case, as the control plane sends them).

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface WhoAmI {
  name: string;
  role: 'reader' | 'admin' | 'agent';
}

export interface UsageDay {
  date: string;
  group: string;
  bytes_read: number;
  reads: number;
  cache_hits: number;
}

export interface UsageRow {
  group: string;
  bytes_read: number;
  reads: number;
  cache_hit_ratio: number;
  files: number;
}

export type QuotaState = 'ok' | 'soft_exceeded' | 'hard_exceeded';

export interface QuotaRow {
  team: string;
  backend: string;
  soft_bytes: number;
  hard_bytes: number;
  used_bytes: number;
  state: QuotaState;
}

export interface StaleObject {
  backend: string;
  path: string;
  size: number;
  last_access: string | null;
  last_modified: string;
}

export interface GrowthPoint {
  backend: string;
  date: string;
  objects: number;
  bytes: number;
}

export interface BackendRow {
  name: string;
  type: string;
  objects: number;
  bytes: number;
  last_crawl: string | null;
}

export interface TopObject {
  backend: string;
  path: string;
  bytes_read: number;
  reads: number;
}

export interface TeamObject {
  backend: string;
  path: string;
  size: number;
  last_access: string;
}

export interface NodeRow {
  node: string;
  bytes_read: number;
  reads: number;
  cache_hit_ratio: number;
  miss_bytes: number;
  last_seen: string;
}
