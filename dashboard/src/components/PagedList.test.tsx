import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../api/client';
import type { StaleObject } from '../api/types';
import { Stale } from '../pages/Stale';
import { fakeServer, page } from '../test-server';

const object = (path: string, lastAccess: string | null): StaleObject => ({ backend: 'datasets', path, size: 1024 ** 3, last_access: lastAccess, last_modified: '2025-01-01T00:00:00Z' });

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function paths(): string[] {
  return screen.getAllByRole('row').slice(1).map((r) => r.querySelector('code')!.textContent!);
}

describe('Stale page', () => {
  it('pages with the server’s cursors, forward and back, and sorts by asking the server', async () => {
    const { calls } = fakeServer({
      'GET /api/v1/stale': (url) => {
        const newest = url.searchParams.get('order') === 'newest';
        if (newest) return page([object('z', '2025-06-01T00:00:00Z')]);
        return url.searchParams.get('cursor') === 'c1' ? page([object('c', null)]) : page([object('a', null), object('b', null)], 'c1');
      },
    });
    render(<Stale client={new ApiClient('good-token')} />);
    await waitFor(() => expect(paths()).toEqual(['a', 'b']));
    expect(screen.getByText('Page 1')).toBeTruthy();
    expect((screen.getByRole('button', { name: '← Previous' }) as HTMLButtonElement).disabled).toBe(true);

    fireEvent.click(screen.getByRole('button', { name: 'Next →' }));
    await waitFor(() => expect(paths()).toEqual(['c']));
    expect(screen.getByText('Page 2')).toBeTruthy();
    expect((screen.getByRole('button', { name: 'Next →' }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: '← Previous' }));
    await waitFor(() => expect(paths()).toEqual(['a', 'b']));

    fireEvent.click(screen.getByRole('button', { name: 'Next →' }));
    await waitFor(() => expect(paths()).toEqual(['c']));
    fireEvent.click(screen.getByRole('button', { name: /Last read/ }));
    await waitFor(() => expect(paths()).toEqual(['z']));
    // Back to oldest first starts again at page 1, not at the page the old order had reached.
    fireEvent.click(screen.getByRole('button', { name: /Last read/ }));
    await waitFor(() => expect(paths()).toEqual(['a', 'b']));
    expect(screen.getByText('Page 1')).toBeTruthy();
    expect(calls.every((c) => c.url.includes('limit=50'))).toBe(true);
    expect(calls.some((c) => c.url.includes('order=newest'))).toBe(true);
  });

  it('says what to do when nothing is stale', async () => {
    fakeServer({ 'GET /api/v1/stale': () => page([]) });
    render(<Stale client={new ApiClient('good-token')} />);
    expect(await screen.findByText('Nothing unread for 90 days')).toBeTruthy();
    expect(screen.getByText(/after a crawl indexes a backend/)).toBeTruthy();
  });

  it('shows the server’s message when the export is refused', async () => {
    fakeServer({
      'GET /api/v1/stale': () => page([object('a', null)]),
      'GET /api/v1/stale/export': () => ({ status: 400, body: { title: 'Bad Request', status: 400, detail: 'backend: must be at most 256 characters without control characters' } }),
    });
    render(<Stale client={new ApiClient('good-token')} />);
    await screen.findByText('a');
    fireEvent.click(screen.getByRole('button', { name: 'Export CSV' }));
    expect((await screen.findByRole('alert')).textContent).toContain('400 Bad Request: backend: must be at most 256 characters');
  });
});
