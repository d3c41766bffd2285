// What a person sees in a real browser (Debian's chromium through playwright-core) against a real, seeded control
// plane. Every number on a page is compared with the API's own answer, formatted the way the page formats it.
import { copyFileSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendRow, GrowthPoint, NodeRow, Page as ApiPage, QuotaRow, StaleObject, TeamObject, TopObject, UsageDay, UsageRow } from '../src/api/types';
import { formatBytes, formatCount, formatPercent, formatTime } from '../src/format';
import { growthByBackend, quotaStateLabel, totals } from '../src/series';
import { ControlPlane, repo, type Tokens } from './controlPlane';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const screenshots = join(repo, 'artifacts/dashboard');

let server: ControlPlane;
let browser: Browser;
const now = new Date();
/** Every console line and request URL of every page, checked for the tokens at the end. */
const seen: string[] = [];

beforeAll(async () => {
  if (!existsSync(chromiumPath)) throw new Error(`no chromium at ${chromiumPath}: apt-get install chromium (hack/deps.sh does)`);
  server = await ControlPlane.start();
  try {
    await server.seed(now);
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  } catch (e) {
    await server.stop();
    throw e;
  }
  mkdirSync(screenshots, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function openPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on('console', (m) => seen.push(m.text()));
  page.on('request', (r) => seen.push(r.url()));
  return page;
}

async function signIn(role: keyof Tokens, path = '/'): Promise<Page> {
  const page = await openPage();
  await page.goto(server.url + path);
  await page.getByLabel('Bearer token').fill(server.tokens[role]);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  return page;
}

/** The cell texts of a table's body rows, once it has rows. */
async function rows(page: Page, label: string): Promise<string[][]> {
  const table = page.getByRole('table', { name: label });
  await table.locator('tbody tr').first().waitFor();
  return table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => (td.textContent ?? '').trim())));
}

/** Retries until `check` stops throwing (a page that re-fetches after an action), at most 10 s. */
async function eventually(check: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function shoot(page: Page, name: string): Promise<void> {
  const file = join(screenshots, `${name}.png`);
  // Park the pointer off the charts, so no tooltip from the last click covers them.
  await page.mouse.move(1, 1);
  await page.screenshot({ path: file, fullPage: true });
  // UPDATE_SCREENSHOTS=1 refreshes the ones the README shows.
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    mkdirSync(join(repo, 'docs/dashboard'), { recursive: true });
    copyFileSync(file, join(repo, 'docs/dashboard', `${name}.png`));
  }
}

const quotaCells = (q: QuotaRow) => [q.team, q.backend === '*' ? 'all (*)' : q.backend, formatBytes(q.used_bytes), formatBytes(q.soft_bytes), formatBytes(q.hard_bytes), quotaStateLabel(q.state).text];

describe('dashboard', () => {
  it('shows only the login form without a token, and refuses an unknown token with the 401 message', async () => {
    const page = await openPage();
    await page.goto(`${server.url}/teams`);
    await page.getByLabel('Bearer token').waitFor();
    expect(await page.getByRole('navigation', { name: 'pages' }).count()).toBe(0);
    expect(await page.getByRole('table').count()).toBe(0);
    await page.getByLabel('Bearer token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: '401' }).waitFor();
    expect(await page.getByLabel('Bearer token').isVisible()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.context().close();
  });

  it('Overview: window totals equal the API, charts drawn, top objects equal /top', async () => {
    const page = await signIn('admin');
    await page.getByTestId('total-bytes').waitFor();
    const until = new Date();
    // The page asks for the last 90 days; the day-granular window is the same for both asks made within a minute.
    const series = await server.api<ApiPage<UsageDay>>(`/usage/daily?group_by=team&limit=1000&since=${new Date(until.getTime() - 90 * 86_400_000).toISOString()}&until=${until.toISOString()}`);
    expect(series.next_cursor).toBeNull();
    const sum = totals(series.items);
    expect(sum.reads).toBeGreaterThan(0);
    expect(await page.getByTestId('total-bytes').textContent()).toBe(formatBytes(sum.bytes));
    expect(await page.getByTestId('total-reads').textContent()).toBe(formatCount(sum.reads));
    expect(await page.getByTestId('hit-ratio').textContent()).toBe(formatPercent(sum.hitRatio));
    // One stacked area per team that read in the window, and a drawn hit-ratio line.
    const teamsInWindow = new Set(series.items.map((r) => r.group));
    await page.locator('[data-testid=usage-chart] .recharts-area').first().waitFor();
    expect(await page.locator('[data-testid=usage-chart] .recharts-area').count()).toBe(teamsInWindow.size);
    expect(await page.locator('[data-testid=hit-chart] .recharts-line-curve').count()).toBe(1);
    const top = await server.api<{ items: TopObject[] }>('/top?limit=10');
    expect(await rows(page, 'top objects')).toEqual(top.items.map((o) => [o.backend, o.path, formatBytes(o.bytes_read), formatCount(o.reads)]));
    await shoot(page, 'overview');
    await page.context().close();
  });

  it('Teams: quota rows equal /quota and the over-quota team is marked', async () => {
    const page = await signIn('admin', '/teams');
    const quotas = await server.api<ApiPage<QuotaRow>>('/quota?limit=20');
    expect(quotas.items.find((q) => q.team === 'vision')?.state).toBe('hard_exceeded');
    expect(quotas.items.find((q) => q.team === 'nlp')?.state).toBe('ok');
    expect(await rows(page, 'quotas')).toEqual(quotas.items.map(quotaCells));
    const vision = page.getByRole('table', { name: 'quotas' }).locator('tr', { hasText: 'vision' }).locator('.badge');
    expect(await vision.getAttribute('class')).toContain('badge-bad');
    expect(await vision.textContent()).toBe('over hard limit');
    const usage = await server.api<ApiPage<UsageRow>>('/usage?group_by=team&limit=20');
    expect(await rows(page, 'usage by team')).toEqual(
      usage.items.map((u) => [u.group, formatBytes(u.bytes_read), formatCount(u.reads), formatPercent(u.cache_hit_ratio), formatCount(u.files)]),
    );
    await page.getByTestId('quota-chart').locator('.recharts-bar-rectangle').first().waitFor();
    await shoot(page, 'teams');
    await page.context().close();
  });

  it("Teams: a team's users and objects equal the API's pages, and next page follows the cursor", async () => {
    const page = await signIn('admin', '/teams');
    await page.getByRole('table', { name: 'quotas' }).getByRole('link', { name: 'vision' }).click();
    await page.getByRole('heading', { name: /vision/ }).waitFor();
    const users = await server.api<ApiPage<UsageRow>>('/team/vision/users?limit=20');
    expect(users.items.map((u) => u.group)).toEqual(['alice', 'bob']);
    expect(await rows(page, 'team users')).toEqual(
      users.items.map((u) => [u.group, formatBytes(u.bytes_read), formatCount(u.reads), formatPercent(u.cache_hit_ratio), formatCount(u.files)]),
    );
    const objects = await server.api<ApiPage<TeamObject>>('/team/vision/objects?limit=20');
    const objectCells = (o: TeamObject) => [o.backend, o.path, formatBytes(o.size), formatTime(o.last_access)];
    expect(await rows(page, 'team objects')).toEqual(objects.items.map(objectCells));
    expect(objects.next_cursor).not.toBeNull();
    const second = await server.api<ApiPage<TeamObject>>(`/team/vision/objects?limit=20&cursor=${objects.next_cursor}`);
    const pagers = page.getByRole('navigation', { name: 'pages' }).filter({ hasText: 'Page' });
    await pagers.nth(1).getByRole('button', { name: 'Next →' }).click();
    await eventually(async () => expect(await rows(page, 'team objects')).toEqual(second.items.map(objectCells)));
    await shoot(page, 'team-detail');
    await page.context().close();
  });

  it('Teams: an admin sets a quota and the Teams page shows the new limits and state', async () => {
    const page = await signIn('admin', '/teams');
    await rows(page, 'quotas');
    const form = page.getByRole('form', { name: 'set a team quota' });
    await form.getByLabel('Team').fill('nlp');
    await form.getByLabel('Backend').fill('*');
    await form.getByLabel('Soft (GiB)').fill('1');
    await form.getByLabel('Hard (GiB)').fill('2');
    await form.getByRole('button', { name: 'Save quota' }).click();
    await form.getByRole('status').waitFor();
    const nlp = (await server.api<ApiPage<QuotaRow>>('/quota?limit=20')).items.find((q) => q.team === 'nlp')!;
    expect(nlp.hard_bytes).toBe(2 * 1024 ** 3);
    expect(nlp.state).toBe('hard_exceeded');
    await eventually(async () => {
      const row = (await rows(page, 'quotas')).find((r) => r[0] === 'nlp');
      expect(row).toEqual(quotaCells(nlp));
    });
    // An invalid quota shows the server's 400 message.
    await form.getByLabel('Soft (GiB)').fill('3');
    await form.getByRole('button', { name: 'Save quota' }).click();
    await form.getByRole('alert').filter({ hasText: 'soft_bytes: must not be greater than hard_bytes' }).waitFor();
    await page.context().close();
  });

  it('Stale data: pages, order and CSV export equal the API', async () => {
    const page = await signIn('admin', '/stale');
    const cells = (o: StaleObject) => [o.backend, o.path, formatBytes(o.size), formatTime(o.last_access), formatTime(o.last_modified)];
    const first = await server.api<ApiPage<StaleObject>>('/stale?days=90&limit=50');
    expect(first.items).toHaveLength(50);
    expect(await rows(page, 'stale objects')).toEqual(first.items.map(cells));
    await page.getByRole('button', { name: 'Next →' }).click();
    const second = await server.api<ApiPage<StaleObject>>(`/stale?days=90&limit=50&cursor=${first.next_cursor}`);
    await eventually(async () => expect(await rows(page, 'stale objects')).toEqual(second.items.map(cells)));
    expect(await page.getByText('Page 2').count()).toBe(1);
    // Sorting by last read asks the server for the newest first (the whole list's order, not the page's).
    await page.getByRole('button', { name: /Last read/ }).click();
    const newest = await server.api<ApiPage<StaleObject>>('/stale?days=90&order=newest&limit=50');
    expect(newest.items[0]!.last_access).not.toBeNull();
    await eventually(async () => expect(await rows(page, 'stale objects')).toEqual(newest.items.map(cells)));
    await page.getByRole('button', { name: /Last read/ }).click();
    await eventually(async () => expect(await rows(page, 'stale objects')).toEqual(first.items.map(cells)));
    await shoot(page, 'stale');
    // The export is the server's stream of every stale object, saved as a file.
    const downloadStarted = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const download = await downloadStarted;
    const csv = readFileSync((await download.path())!, 'utf8').trimEnd().split('\n');
    expect(csv[0]).toBe('backend,path,size_bytes,last_access,last_modified');
    expect(csv[1]!.split(',').slice(0, 3)).toEqual([first.items[0]!.backend, first.items[0]!.path, String(first.items[0]!.size)]);
    let total = 0;
    for (let cursor: string | null = null, i = 0; i === 0 || cursor; i++) {
      const p: ApiPage<StaleObject> = await server.api<ApiPage<StaleObject>>(`/stale?days=90&limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
      total += p.items.length;
      cursor = p.next_cursor;
    }
    expect(csv.length - 1).toBe(total);
    expect(total).toBeGreaterThan(9000);
    await page.context().close();
  });

  it('Growth: backends equal /backends and the chart draws a line per backend', async () => {
    const page = await signIn('admin', '/growth');
    const backends = await server.api<ApiPage<BackendRow>>('/backends?limit=20');
    expect(backends.items.reduce((n, b) => n + b.objects, 0)).toBe(10_000);
    expect(await rows(page, 'backends')).toEqual(backends.items.map((b) => [b.name, b.type, formatCount(b.objects), formatBytes(b.bytes), formatTime(b.last_crawl)]));
    // One series per backend, a dot per crawl; the chart's last values are the backends' totals.
    const growth = await server.api<ApiPage<GrowthPoint>>('/growth?period=365&limit=1000');
    expect(growth.items).toHaveLength(3 * backends.items.length);
    expect(growth.items.filter((p) => p.backend === 'datasets').map((p) => p.objects)).toEqual([5000, 6500, 8000]);
    await page.locator('[data-testid=growth-chart] .recharts-line-dot').first().waitFor();
    expect(await page.locator('[data-testid=growth-chart] .recharts-line').count()).toBe(backends.items.length);
    // A dot per backend per crawl time (a backend's size is carried to the other backend's crawl times).
    expect(await page.locator('[data-testid=growth-chart] .recharts-line-dot').count()).toBe(growthByBackend(growth.items).data.length * backends.items.length);
    await shoot(page, 'growth');
    await page.context().close();
  });

  it("Nodes: each agent's reads, hit ratio and cache fill equal /nodes, and recent reporters are healthy", async () => {
    const page = await signIn('admin', '/nodes');
    const nodes = await server.api<ApiPage<NodeRow>>('/nodes?days=7&limit=50');
    expect(nodes.items.map((n) => n.node)).toEqual(['gpu-node-a', 'gpu-node-b']);
    const shown = await rows(page, 'nodes');
    expect(shown.map((r) => [r[0], r[1], r[3], r[4], r[5], r[6]])).toEqual(
      nodes.items.map((n) => [n.node, 'reporting', formatCount(n.reads), formatBytes(n.bytes_read), formatPercent(n.cache_hit_ratio), formatBytes(n.miss_bytes)]),
    );
    await shoot(page, 'nodes');
    await page.context().close();
  });

  it('a reader sees no admin action; an agent token gets the 403 message of the server', async () => {
    const reader = await signIn('reader', '/teams');
    await rows(reader, 'quotas');
    expect(await reader.locator('.role').textContent()).toBe('reader');
    expect(await reader.getByRole('form', { name: 'set a team quota' }).count()).toBe(0);
    await reader.context().close();

    const agent = await signIn('agent', '/teams');
    const alert = agent.getByRole('alert').filter({ hasText: '403' }).first();
    await alert.waitFor();
    expect(await alert.textContent()).toContain("role 'agent' may not GET /api/v1/quota");
    await shoot(agent, 'forbidden');
    await agent.context().close();
  });

  it('keeps the token in sessionStorage only: never in a URL, the console or localStorage; sign out forgets it', async () => {
    const page = await signIn('admin');
    expect(await page.evaluate(() => sessionStorage.getItem('warpdrive.token'))).toBe(server.tokens.admin);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Bearer token').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('warpdrive.token'))).toBeNull();
    await page.context().close();
    expect(seen.length).toBeGreaterThan(0);
    for (const t of Object.values(server.tokens)) expect(seen.filter((line) => line.includes(t))).toEqual([]);
    expect(server.log).not.toContain(server.tokens.admin);
  });
});
