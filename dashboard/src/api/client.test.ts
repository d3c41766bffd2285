import { describe, expect, it, vi } from 'vitest';
import { ApiClient, ApiError, apiUrl } from './client';

function answer(status: number, body: unknown, contentType = 'application/problem+json'): Response {
  return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status, headers: { 'Content-Type': contentType } });
}

describe('ApiClient', () => {
  it('sends the token only in the Authorization header', async () => {
    const fetcher = vi.fn(async (_url: RequestInfo | URL, _init?: RequestInit) => answer(200, { items: [], next_cursor: null }, 'application/json'));
    await new ApiClient('s3cret', () => {}, fetcher as unknown as typeof fetch).get('/quota', { limit: 20 });
    const [url, init] = fetcher.mock.calls[0]!;
    expect(url).toBe('/api/v1/quota?limit=20');
    expect(String(url)).not.toContain('s3cret');
    expect((init!.headers as Record<string, string>).Authorization).toBe('Bearer s3cret');
  });

  it('turns a problem answer into an ApiError with the server’s title and detail', async () => {
    const fetcher = async () => answer(403, { title: 'Forbidden', detail: "role 'reader' may not PUT /api/v1/quota" });
    const error = await new ApiClient('t', () => {}, fetcher as unknown as typeof fetch).put('/quota', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 403, title: 'Forbidden', detail: "role 'reader' may not PUT /api/v1/quota" });
  });

  it('calls onUnauthorized on a 401 (and still rejects)', async () => {
    const onUnauthorized = vi.fn();
    const fetcher = async () => answer(401, { title: 'Unauthorized', detail: 'a valid bearer token is required' });
    await expect(new ApiClient('t', onUnauthorized, fetcher as unknown as typeof fetch).get('/whoami')).rejects.toMatchObject({ status: 401 });
    expect(onUnauthorized).toHaveBeenCalledOnce();
  });

  it('keeps the status line when the body is not a problem', async () => {
    const fetcher = async () => new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' });
    await expect(new ApiClient('t', () => {}, fetcher as unknown as typeof fetch).get('/quota')).rejects.toMatchObject({ status: 502, title: 'Bad Gateway', detail: '' });
  });

  it('reports an unreachable server as a network error', async () => {
    const fetcher = async () => {
      throw new TypeError('Failed to fetch');
    };
    await expect(new ApiClient('t', () => {}, fetcher as unknown as typeof fetch).get('/quota')).rejects.toMatchObject({ status: 0, title: 'Network error' });
  });

  it('follows cursors for all() and says when it stopped at the page cap', async () => {
    const pages = [
      { items: [1, 2], next_cursor: 'a' },
      { items: [3], next_cursor: 'b' },
      { items: [4], next_cursor: null },
    ];
    const asked: string[] = [];
    const fetcher = async (url: RequestInfo | URL) => {
      asked.push(String(url));
      return answer(200, pages[asked.length - 1], 'application/json');
    };
    const client = new ApiClient('t', () => {}, fetcher as unknown as typeof fetch);
    expect(await client.all<number>('/growth', { period: 30 })).toEqual({ items: [1, 2, 3, 4], truncated: false });
    expect(asked).toEqual(['/api/v1/growth?period=30&limit=1000', '/api/v1/growth?period=30&limit=1000&cursor=a', '/api/v1/growth?period=30&limit=1000&cursor=b']);
    asked.length = 0;
    expect(await client.all<number>('/growth', {}, 2)).toEqual({ items: [1, 2, 3], truncated: true });
  });
});

describe('apiUrl', () => {
  it('leaves out empty parameters and encodes the rest', () => expect(apiUrl('/stale', { days: 90, backend: '', min_size: undefined, order: 'a b' })).toBe('/api/v1/stale?days=90&order=a+b'));
});
