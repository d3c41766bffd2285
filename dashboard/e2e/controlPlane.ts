// A real control plane for the browser tests: `warpdrive-ctl serve` (the .NET build's warpdrive-ctl.dll) on a free
// loopback port, SQLite in a temp dir, two local backends holding 10,000 files, and three tokens. Seeded through
// the public API only: a crawl (admin), a year of access events (agent), teams and quotas (admin).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = fileURLToPath(new URL('../..', import.meta.url));
const ctlDll = process.env.WARPDRIVE_CTL_DLL ?? join(repo, 'artifacts/bin/WarpDrive.Ctl/debug/warpdrive-ctl.dll');

// The files `npm run e2e` has just built (not a copy an older .NET build left beside warpdrive-ctl).
const dist = join(repo, 'dashboard/dist');

const MiB = 1024 ** 2;
const dayMs = 86_400_000;

export interface Tokens {
  admin: string;
  reader: string;
  agent: string;
}

/** Who is in which team; erin has none (she counts under "(none)"). */
export const teams: Record<string, string[]> = { vision: ['alice', 'bob'], nlp: ['carol', 'dave'] };
export const users = ['alice', 'bob', 'carol', 'dave', 'erin'];
export const datasetFiles = 8000;
export const checkpointFiles = 2000;

export class ControlPlane {
  private constructor(
    readonly url: string,
    readonly tokens: Tokens,
    private readonly child: ChildProcess,
    private readonly root: string,
    private readonly output: string[],
  ) {}

  static async start(): Promise<ControlPlane> {
    if (!existsSync(join(dist, 'index.html'))) throw new Error(`${dist} is not built: npm run build`);
    if (!existsSync(ctlDll)) throw new Error(`${ctlDll} is missing: build first (hack/dashboard.sh, then dotnet build WarpDrive.Operator.sln)`);
    const root = mkdtempSync(join(tmpdir(), 'wd-dashboard-e2e-'));
    try {
      writeBackends(root);
      const tokens: Tokens = { admin: token('admin'), reader: token('reader'), agent: token('agent') };
      for (const [role, value] of Object.entries(tokens)) writeFileSync(join(root, `${role}.token`), `${value}\n`, { mode: 0o600 });
      writeFileSync(
        join(root, 'tokens.yaml'),
        ['- { token_file: admin.token, name: ops, role: admin }', '- { token_file: reader.token, name: dashboards, role: reader }', '- { token_file: agent.token, name: node-agents, role: agent }'].join('\n'),
      );
      const output: string[] = [];
      const child = spawn('dotnet', [ctlDll, 'serve', '--listen', '127.0.0.1:0', '--database', `sqlite://${join(root, 'cp.db')}`, '--tokens-file', join(root, 'tokens.yaml'), '--config', join(root, 'node.yaml'), '--dashboard', dist], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: '1', DOTNET_NOLOGO: '1' },
      });
      const url = await new Promise<string>((resolveUrl, reject) => {
        const timer = setTimeout(() => reject(new Error(`serve did not start in 60 s:\n${output.join('')}`)), 60_000);
        const onData = (chunk: Buffer) => {
          output.push(chunk.toString());
          const m = /serving the control plane on (http:\/\/\S+?)\/? /.exec(output.join(''));
          if (m?.[1]) {
            clearTimeout(timer);
            resolveUrl(m[1]);
          }
        };
        child.stdout?.on('data', onData);
        child.stderr?.on('data', onData);
        child.on('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`serve exited with ${code}:\n${output.join('')}`));
        });
      });
      return new ControlPlane(url, tokens, child, root, output);
    } catch (e) {
      rmSync(root, { recursive: true, force: true });
      throw e;
    }
  }

  /** Stops the server by its PID (SIGTERM, then SIGKILL after 15 s) and removes the temp dir. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      process.kill(child.pid!, 'SIGTERM');
      const timer = setTimeout(() => child.exitCode === null && process.kill(child.pid!, 'SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.root, { recursive: true, force: true });
  }

  get log(): string {
    return this.output.join('');
  }

  private async crawl(): Promise<void> {
    const { crawl_id } = await this.api<{ crawl_id: string }>('/crawl', 'admin', { method: 'POST', body: {} });
    for (let i = 0; ; i++) {
      const status = await this.api<{ state: string; error: string | null }>(`/crawl/${crawl_id}`);
      if (status.state === 'done') return;
      if (status.state === 'failed' || i > 600) throw new Error(`crawl ${status.state}: ${status.error ?? 'timed out'}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async api<T>(path: string, role: keyof Tokens = 'admin', init: { method?: string; body?: unknown } = {}): Promise<T> {
    const response = await fetch(`${this.url}/api/v1${path}`, {
      method: init.method ?? 'GET',
      headers: { Authorization: `Bearer ${this.tokens[role]}`, 'Content-Type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }

  /** Crawl (10,000 objects), a year of daily reads by five users on two nodes, two teams and their quotas. */
  async seed(now: Date): Promise<void> {
    // Three crawls with files added between them: the backends grow (growth has three points per backend).
    for (const step of [1, 2, 3]) {
      writeFiles(this.root, step);
      await this.crawl();
    }
    for (const [team, members] of Object.entries(teams)) await this.api('/team', 'admin', { method: 'POST', body: { team, users: members } });
    await this.api('/ingest', 'agent', { method: 'POST', body: { events: yearOfReads(now) } });
    // vision reads far more than 10 GiB of misses in 30 days (over its hard limit); nlp stays within 100 / 200 GiB.
    await this.api('/quota', 'admin', { method: 'PUT', body: { team: 'vision', backend: '*', soft_bytes: 5 * 1024 * MiB, hard_bytes: 10 * 1024 * MiB } });
    await this.api('/quota', 'admin', { method: 'PUT', body: { team: 'nlp', backend: '*', soft_bytes: 100 * 1024 * MiB, hard_bytes: 200 * 1024 * MiB } });
  }
}

function token(role: string): string {
  return `${role}-${randomBytes(16).toString('hex')}`;
}

/** The files of crawl `step` (1..3): a third of each backend more each time, 10,000 after the third. */
function writeFiles(root: string, step: number): void {
  // Sparse files: the crawler reads sizes, not contents, so 10,000 objects cost no disk.
  const shards = [0, 5000, 6500, datasetFiles];
  for (let i = shards[step - 1]!; i < shards[step]!; i++) sparse(join(root, 'datasets/imagenet', shard(i)), ((i % 97) + 1) * MiB);
  const runs = [0, 10, 15, checkpointFiles / 100];
  for (let run = runs[step - 1]!; run < runs[step]!; run++) {
    mkdirSync(join(root, 'checkpoints', `run-${run}`));
    for (let s = 0; s < 100; s++) sparse(join(root, 'checkpoints', `run-${run}`, `step-${s}.pt`), ((s % 13) + 1) * 64 * MiB);
  }
}

function writeBackends(root: string): void {
  for (const dir of ['datasets', 'checkpoints', 'cache']) mkdirSync(join(root, dir), { recursive: true });
  mkdirSync(join(root, 'datasets/imagenet'), { recursive: true });
  writeFileSync(
    join(root, 'node.yaml'),
    `mount_point: /mnt/warpdrive-e2e
cache:
  path: ${join(root, 'cache')}
  max_size: 1GB
backends:
  - name: datasets
    type: local
    mount_path: /datasets
    config:
      root: ${join(root, 'datasets')}
  - name: checkpoints
    type: local
    mount_path: /checkpoints
    config:
      root: ${join(root, 'checkpoints')}
`,
  );
}

export function shard(i: number): string {
  return `shard-${String(i).padStart(5, '0')}.tar`;
}

function sparse(path: string, size: number): void {
  const fd = openSync(path, 'w');
  ftruncateSync(fd, size);
  closeSync(fd);
}

/** One rolled-up read event per user per day for 365 days; vision reads datasets, the others checkpoints. */
function yearOfReads(now: Date) {
  const events = [];
  for (let d = 0; d < 365; d++) {
    const ts = new Date(now.getTime() - d * dayMs - 60_000).toISOString();
    for (const [u, user] of users.entries()) {
      const vision = teams.vision!.includes(user);
      events.push({
        ts,
        node: u % 2 === 0 ? 'gpu-node-a' : 'gpu-node-b',
        user,
        backend: vision ? 'datasets' : 'checkpoints',
        path: vision ? `imagenet/${shard((d * 5 + u) % datasetFiles)}` : `run-${(d + u) % 20}/step-${d % 100}.pt`,
        op: 'read',
        bytes_read: (u + 1) * ((d % 5) + 1) * 256 * MiB,
        cache_hit: (d + u) % 3 !== 0,
        latency_ms: 2,
        count: 5 + (d % 7),
      });
    }
  }
  return events;
}
