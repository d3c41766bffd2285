import type { Page } from './types';

/** An answer the API refused: status and the server's own words (RFC 7807 title and detail). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
  ) {
    super(detail ? `${title}: ${detail}` : title);
    this.name = 'ApiError';
  }
}

export type Query = Record<string, string | number | undefined>;

/**
 * Calls /api/v1 with the bearer token. The token goes only into the Authorization header: never into a URL,
 * a log or an error message. A 401 calls onUnauthorized (the app then forgets the token and shows the login form).
 */
export class ApiClient {
  constructor(
    private readonly token: string,
    private readonly onUnauthorized: () => void = () => {},
    private readonly fetcher: typeof fetch = (...args) => fetch(...args),
  ) {}

  get<T>(path: string, query: Query = {}): Promise<T> {
    return this.send<T>('GET', path, query);
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.send<T>('PUT', path, {}, body);
  }

  /** One page of a keyset-paged list (the server caps limit at 1000). */
  page<T>(path: string, query: Query, cursor: string | null): Promise<Page<T>> {
    return this.get<Page<T>>(path, cursor ? { ...query, cursor } : query);
  }

  /**
   * Every page of a list whose size is bounded by time × groups (a chart's series, never a table of objects),
   * up to maxPages; `truncated` says when it stopped there.
   */
  async all<T>(path: string, query: Query, maxPages = 20): Promise<{ items: T[]; truncated: boolean }> {
    const items: T[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < maxPages; i++) {
      const page: Page<T> = await this.page<T>(path, { ...query, limit: 1000 }, cursor);
      items.push(...page.items);
      cursor = page.next_cursor;
      if (!cursor) return { items, truncated: false };
    }
    return { items, truncated: true };
  }

  /** The raw response of a streamed download (CSV), after the same status handling as JSON calls. */
  async download(path: string, query: Query): Promise<Blob> {
    const response = await this.request('GET', path, query);
    return response.blob();
  }

  private async send<T>(method: string, path: string, query: Query, body?: unknown): Promise<T> {
    const response = await this.request(method, path, query, body);
    return (await response.json()) as T;
  }

  private async request(method: string, path: string, query: Query, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.token}`, Accept: 'application/json, text/csv' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response: Response;
    try {
      response = await this.fetcher(apiUrl(path, query), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, 'Network error', 'the control plane did not answer; is it running?');
    }
    if (response.ok) return response;
    if (response.status === 401) this.onUnauthorized();
    throw await problemOf(response);
  }
}

export function apiUrl(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.set(key, String(value));
  }
  const search = params.toString();
  return `/api/v1${path}${search ? `?${search}` : ''}`;
}

/** The server's RFC 7807 problem as an ApiError; a body that is not one still yields the status line. */
export async function problemOf(response: Response): Promise<ApiError> {
  const fallback = response.statusText || `HTTP ${response.status}`;
  try {
    const problem = (await response.json()) as { title?: unknown; detail?: unknown };
    const title = typeof problem.title === 'string' ? problem.title : fallback;
    const detail = typeof problem.detail === 'string' ? problem.detail : '';
    return new ApiError(response.status, title, detail);
  } catch {
    return new ApiError(response.status, fallback, '');
  }
}
