import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { App } from './App';
import type { QuotaRow } from './api/types';
import { fakeServer, page } from './test-server';

const vision: QuotaRow = { team: 'vision', backend: '*', soft_bytes: 5 * 1024 ** 3, hard_bytes: 10 * 1024 ** 3, used_bytes: 12 * 1024 ** 3, state: 'hard_exceeded' };
const nlp: QuotaRow = { team: 'nlp', backend: 'datasets', soft_bytes: 1024 ** 4, hard_bytes: 2 * 1024 ** 4, used_bytes: 1024 ** 3, state: 'ok' };

function teamsRoutes(role: 'admin' | 'reader', quotas: QuotaRow[] = [vision, nlp]) {
  return {
    'GET /api/v1/whoami': () => ({ status: 200, body: { name: 'ops', role } }),
    'GET /api/v1/quota': () => page(quotas),
    'GET /api/v1/usage': () => page([{ group: 'vision', bytes_read: 2048, reads: 4, cache_hit_ratio: 0.5, files: 2 }]),
  };
}

async function signIn(token = 'good-token') {
  fireEvent.change(screen.getByLabelText('Bearer token'), { target: { value: token } });
  fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
}

beforeEach(() => {
  sessionStorage.clear();
  window.history.pushState(null, '', '/teams');
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('App', () => {
  it('shows only the login form without a token and asks nothing of the server', () => {
    const { fetcher } = fakeServer(teamsRoutes('admin'));
    render(<App />);
    expect(screen.getByLabelText('Bearer token')).toBeTruthy();
    expect(screen.queryByRole('navigation')).toBeNull();
    expect(fetcher).not.toHaveBeenCalled();
  });

  it('keeps the token in sessionStorage and sends it only as a bearer header', async () => {
    const { calls } = fakeServer(teamsRoutes('admin'));
    render(<App />);
    await signIn();
    await screen.findByRole('table', { name: 'quotas' });
    expect(sessionStorage.getItem('warpdrive.token')).toBe('good-token');
    expect(window.location.href).not.toContain('good-token');
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) {
      expect(call.authorization).toBe('Bearer good-token');
      expect(call.url).not.toContain('good-token');
    }
  });

  it('returns to the login form with a message when the server answers 401', async () => {
    fakeServer(teamsRoutes('admin'));
    render(<App />);
    await signIn('wrong-token');
    await screen.findByText(/did not accept that token \(401\)/);
    expect(screen.getByLabelText('Bearer token')).toBeTruthy();
    expect(sessionStorage.getItem('warpdrive.token')).toBeNull();
  });

  it('marks the over-quota team and offers the quota form to an admin', async () => {
    fakeServer(teamsRoutes('admin'));
    render(<App />);
    await signIn();
    const table = await screen.findByRole('table', { name: 'quotas' });
    const visionRow = within(table).getByText('vision').closest('tr')!;
    expect(within(visionRow).getByText('over hard limit').className).toContain('badge-bad');
    expect(within(visionRow).getByText('12.0 GiB')).toBeTruthy();
    const nlpRow = within(table).getByText('nlp').closest('tr')!;
    expect(within(nlpRow).getByText('within quota').className).toContain('badge-ok');
    expect(screen.getByRole('form', { name: 'set a team quota' })).toBeTruthy();
  });

  it('hides the quota form from a reader', async () => {
    fakeServer(teamsRoutes('reader'));
    render(<App />);
    await signIn();
    await screen.findByRole('table', { name: 'quotas' });
    expect(screen.queryByRole('form', { name: 'set a team quota' })).toBeNull();
  });

  it('sends the quota in bytes and shows the server’s message when it refuses', async () => {
    let saved: QuotaRow[] = [vision];
    const { calls } = fakeServer({
      ...teamsRoutes('admin'),
      'GET /api/v1/quota': () => page(saved),
      'PUT /api/v1/quota': (_url, init) => {
        const body = JSON.parse(String(init?.body)) as { team: string; backend: string; soft_bytes: number; hard_bytes: number };
        if (body.soft_bytes > body.hard_bytes) return { status: 400, body: { title: 'Bad Request', status: 400, detail: 'soft_bytes: must not be greater than hard_bytes' } };
        const row: QuotaRow = { ...body, used_bytes: 0, state: 'ok' };
        saved = [row, vision];
        return { status: 200, body: row };
      },
    });
    render(<App />);
    await signIn();
    const form = await screen.findByRole('form', { name: 'set a team quota' });
    fireEvent.change(within(form).getByLabelText('Team'), { target: { value: 'audio' } });
    fireEvent.change(within(form).getByLabelText('Soft (GiB)'), { target: { value: '3' } });
    fireEvent.change(within(form).getByLabelText('Hard (GiB)'), { target: { value: '2' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Save quota' }));
    expect((await within(form).findByRole('alert')).textContent).toBe('400 Bad Request: soft_bytes: must not be greater than hard_bytes');

    fireEvent.change(within(form).getByLabelText('Soft (GiB)'), { target: { value: '1' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Save quota' }));
    await waitFor(() => expect(within(screen.getByRole('table', { name: 'quotas' })).getByText('audio')).toBeTruthy());
    const put = calls.filter((c) => c.method === 'PUT').at(-1)!;
    expect(JSON.parse(put.body!)).toEqual({ team: 'audio', backend: '*', soft_bytes: 1024 ** 3, hard_bytes: 2 * 1024 ** 3 });
  });

  it('shows a 403 as the server’s message instead of a blank page', async () => {
    fakeServer({
      'GET /api/v1/whoami': () => ({ status: 200, body: { name: 'node-agents', role: 'agent' } }),
      'GET /api/v1/quota': () => ({ status: 403, body: { title: 'Forbidden', status: 403, detail: "role 'agent' may not GET /api/v1/quota; allowed: reader, admin" } }),
      'GET /api/v1/usage': () => ({ status: 403, body: { title: 'Forbidden', status: 403, detail: "role 'agent' may not GET /api/v1/usage; allowed: reader, admin" } }),
    });
    render(<App />);
    await signIn();
    const alerts = await screen.findAllByRole('alert');
    expect(alerts.map((a) => a.textContent)).toContain("403 Forbidden: role 'agent' may not GET /api/v1/quota; allowed: reader, admin");
  });
});
