import { useState } from 'react';
import { Area, AreaChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { ApiClient } from '../api/client';
import type { TopObject, UsageDay } from '../api/types';
import { DataTable } from '../components/DataTable';
import { EmptyState, ErrorBanner, Loading } from '../components/Feedback';
import { formatBytes, formatCount, formatPercent } from '../format';
import { useLoad } from '../hooks';
import { hitRatioByDay, stackByGroup, totals } from '../series';
import { palette } from './palette';

const windows = [30, 90, 365];

/** Bytes read per day per team (stacked), cache hit ratio per day, and the most-read objects. */
export function Overview({ client }: { client: ApiClient }) {
  const [days, setDays] = useState(90);
  const usage = useLoad(() => {
    const until = new Date();
    const since = new Date(until.getTime() - days * 86_400_000);
    return client.all<UsageDay>('/usage/daily', { group_by: 'team', since: since.toISOString(), until: until.toISOString() });
  }, `usage-${days}`);
  const top = useLoad(() => client.get<{ items: TopObject[] }>('/top', { limit: 10 }), 'top');

  return (
    <section>
      <header className="page-header">
        <h2>Overview</h2>
        <label>
          Window{' '}
          <select value={days} onChange={(e) => setDays(Number(e.target.value))} aria-label="window">
            {windows.map((d) => (
              <option key={d} value={d}>
                last {d} days
              </option>
            ))}
          </select>
        </label>
      </header>
      {usage.error ? <ErrorBanner error={usage.error} /> : !usage.data ? <Loading what="usage" /> : <UsageCharts rows={usage.data.items} truncated={usage.data.truncated} days={days} />}
      <h3>Top objects by bytes read (all time)</h3>
      {top.error ? (
        <ErrorBanner error={top.error} />
      ) : !top.data ? (
        <Loading what="top objects" />
      ) : top.data.items.length === 0 ? (
        <EmptyState title="Nothing read yet">Objects appear here once node agents report reads (telemetry.enabled: true in the node config).</EmptyState>
      ) : (
        <DataTable<TopObject>
          label="top objects"
          rows={top.data.items}
          rowKey={(o) => `${o.backend}/${o.path}`}
          columns={[
            { header: 'Backend', cell: (o) => o.backend },
            { header: 'Path', cell: (o) => <code>{o.path}</code> },
            { header: 'Bytes read', cell: (o) => formatBytes(o.bytes_read), numeric: true },
            { header: 'Reads', cell: (o) => formatCount(o.reads), numeric: true },
          ]}
        />
      )}
    </section>
  );
}

function UsageCharts({ rows, truncated, days }: { rows: UsageDay[]; truncated: boolean; days: number }) {
  if (rows.length === 0) {
    return (
      <EmptyState title="No telemetry yet">
        Enable telemetry in the node config (telemetry.enabled: true, sink http or grpc pointing at this control plane) and reads will show up here by team.
      </EmptyState>
    );
  }
  const { data, groups } = stackByGroup(rows);
  const ratio = hitRatioByDay(rows);
  const sum = totals(rows);
  return (
    <>
      <dl className="stats" aria-label="window totals">
        <div>
          <dt>Bytes read ({days} days)</dt>
          <dd data-testid="total-bytes">{formatBytes(sum.bytes)}</dd>
        </div>
        <div>
          <dt>Reads</dt>
          <dd data-testid="total-reads">{formatCount(sum.reads)}</dd>
        </div>
        <div>
          <dt>Cache hit ratio</dt>
          <dd data-testid="hit-ratio">{formatPercent(sum.hitRatio)}</dd>
        </div>
      </dl>
      {truncated && <p className="hint">Only the first 20,000 (day, team) points are shown; choose a shorter window.</p>}
      <h3>Bytes read per day by team</h3>
      <div className="chart" data-testid="usage-chart">
        <ResponsiveContainer width="100%" height={280}>
          <AreaChart data={data}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="day" minTickGap={24} />
            <YAxis tickFormatter={(v: number) => formatBytes(v)} width={80} />
            <Tooltip formatter={(v) => formatBytes(Number(v))} />
            <Legend />
            {groups.map((g, i) => (
              <Area key={g} type="monotone" dataKey={g} stackId="teams" stroke={palette(i)} fill={palette(i)} isAnimationActive={false} />
            ))}
          </AreaChart>
        </ResponsiveContainer>
      </div>
      <h3>Cache hit ratio per day</h3>
      <div className="chart" data-testid="hit-chart">
        <ResponsiveContainer width="100%" height={200}>
          <LineChart data={ratio}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="day" minTickGap={24} />
            <YAxis domain={[0, 1]} tickFormatter={(v: number) => formatPercent(v)} width={70} />
            <Tooltip formatter={(v) => formatPercent(Number(v))} />
            <Line type="monotone" dataKey="ratio" name="hit ratio" stroke="#2a7" dot={false} isAnimationActive={false} />
          </LineChart>
        </ResponsiveContainer>
      </div>
    </>
  );
}
