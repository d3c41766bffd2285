import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { ApiClient } from '../api/client';
import type { QuotaRow, UsageRow } from '../api/types';
import { PagedList } from '../components/PagedList';
import { QuotaForm } from '../components/QuotaForm';
import { StateBadge } from '../components/StateBadge';
import { formatBytes, formatCount, formatPercent } from '../format';
import { usePaged } from '../hooks';

/** Quotas (used vs soft/hard, state colours) and usage by team; a team's name opens its users and objects. */
export function Teams({ client, isAdmin, navigate }: { client: ApiClient; isAdmin: boolean; navigate: (path: string) => void }) {
  const quotas = usePaged<QuotaRow>(client, '/quota', { limit: 20 });
  const usage = usePaged<UsageRow>(client, '/usage', { group_by: 'team', limit: 20 });
  const open = (team: string) => (
    <a
      href={`/teams/${encodeURIComponent(team)}`}
      onClick={(e) => {
        e.preventDefault();
        navigate(`/teams/${encodeURIComponent(team)}`);
      }}
    >
      {team}
    </a>
  );

  return (
    <section>
      <header className="page-header">
        <h2>Teams</h2>
      </header>
      <h3>Quotas (cache-miss bytes of the last 30 days)</h3>
      {quotas.data && quotas.data.items.length > 0 && <QuotaBars rows={quotas.data.items} />}
      <PagedList<QuotaRow>
        label="quotas"
        paged={quotas}
        rowKey={(q) => `${q.team}\u0000${q.backend}`}
        empty={{ title: 'No quotas yet', hint: isAdmin ? 'Set one below, or with warpdrive-ctl quota set.' : 'An admin sets them (here or with warpdrive-ctl quota set).' }}
        columns={[
          { header: 'Team', cell: (q) => open(q.team) },
          { header: 'Backend', cell: (q) => (q.backend === '*' ? 'all (*)' : q.backend) },
          { header: 'Used', cell: (q) => formatBytes(q.used_bytes), numeric: true },
          { header: 'Soft limit', cell: (q) => formatBytes(q.soft_bytes), numeric: true },
          { header: 'Hard limit', cell: (q) => formatBytes(q.hard_bytes), numeric: true },
          { header: 'State', cell: (q) => <StateBadge state={q.state} /> },
        ]}
      />
      {isAdmin && <QuotaForm client={client} onSaved={() => quotas.reload()} />}
      <h3>Usage by team (last 30 days)</h3>
      <PagedList<UsageRow>
        label="usage by team"
        paged={usage}
        rowKey={(u) => u.group}
        empty={{ title: 'No usage yet', hint: 'Enable telemetry in the node config; teams are set with warpdrive-ctl team set.' }}
        columns={[
          { header: 'Team', cell: (u) => open(u.group) },
          { header: 'Bytes read', cell: (u) => formatBytes(u.bytes_read), numeric: true },
          { header: 'Reads', cell: (u) => formatCount(u.reads), numeric: true },
          { header: 'Cache hit ratio', cell: (u) => formatPercent(u.cache_hit_ratio), numeric: true },
          { header: 'Objects', cell: (u) => formatCount(u.files), numeric: true },
        ]}
      />
    </section>
  );
}

/** Used against soft and hard limit for the quotas on this page. */
function QuotaBars({ rows }: { rows: QuotaRow[] }) {
  const data = rows.map((q) => ({ name: `${q.team} (${q.backend})`, used: q.used_bytes, soft: q.soft_bytes, hard: q.hard_bytes }));
  return (
    <div className="chart" data-testid="quota-chart">
      <ResponsiveContainer width="100%" height={Math.max(160, 40 * data.length + 60)}>
        <BarChart data={data} layout="vertical" margin={{ left: 40 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis type="number" tickFormatter={(v: number) => formatBytes(v)} />
          <YAxis type="category" dataKey="name" width={160} />
          <Tooltip formatter={(v) => formatBytes(Number(v))} />
          <Legend />
          <Bar dataKey="used" name="used" fill="#3366cc" isAnimationActive={false} />
          <Bar dataKey="soft" name="soft limit" fill="#ffb74d" isAnimationActive={false} />
          <Bar dataKey="hard" name="hard limit" fill="#e57373" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
