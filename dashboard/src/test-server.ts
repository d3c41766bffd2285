import { vi } from 'vitest';

type Route = (url: URL, init?: RequestInit) => { status: number; body: unknown };

/**
 * A stand-in for the control plane in component tests: answers fetch by path, records what was asked and with
 * which Authorization header, and rejects any token but the expected one with the server's 401 problem.
 */
export function fakeServer(routes: Record<string, Route>, token = 'good-token') {
  const calls: { method: string; url: string; authorization: string | undefined; body?: string }[] = [];
  const fetcher = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), 'http://dashboard.test');
    const authorization = (init?.headers as Record<string, string> | undefined)?.Authorization;
    calls.push({ method: init?.method ?? 'GET', url: url.pathname + url.search, authorization, body: init?.body as string | undefined });
    const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
    if (authorization !== `Bearer ${token}`) return json(401, { title: 'Unauthorized', status: 401, detail: 'a valid bearer token is required' });
    const route = routes[`${init?.method ?? 'GET'} ${url.pathname}`];
    if (!route) return json(404, { title: 'Not Found', status: 404, detail: `no such endpoint: ${url.pathname}` });
    const { status, body } = route(url, init);
    return json(status, body);
  });
  vi.stubGlobal('fetch', fetcher);
  return { calls, fetcher };
}

export const page = <T,>(items: T[], next: string | null = null) => ({ status: 200, body: { items, next_cursor: next } });
