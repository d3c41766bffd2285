import { useState } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { ApiClient } from '../api/client';
import type { BackendRow, GrowthPoint } from '../api/types';
import { EmptyState, ErrorBanner, Loading } from '../components/Feedback';
import { PagedList } from '../components/PagedList';
import { formatBytes, formatCount, formatTime } from '../format';
import { useLoad, usePaged } from '../hooks';
import { growthByBackend } from '../series';
import { palette } from './palette';

/** Indexed bytes per backend after each crawl (times in UTC), and each backend's latest totals. */
export function Growth({ client }: { client: ApiClient }) {
  const [period, setPeriod] = useState(365);
  const growth = useLoad(() => client.all<GrowthPoint>('/growth', { period }), `growth-${period}`);
  const backends = usePaged<BackendRow>(client, '/backends', { limit: 20 });
  return (
    <section>
      <header className="page-header">
        <h2>Growth</h2>
        <label>
          Period{' '}
          <select value={period} onChange={(e) => setPeriod(Number(e.target.value))} aria-label="period">
            {[30, 90, 365].map((d) => (
              <option key={d} value={d}>
                last {d} days
              </option>
            ))}
          </select>
        </label>
      </header>
      {growth.error ? (
        <ErrorBanner error={growth.error} />
      ) : !growth.data ? (
        <Loading what="growth" />
      ) : growth.data.items.length === 0 ? (
        <EmptyState title="No crawls yet">Crawls record each backend's size: run warpdrive-ctl crawl, or wait for the crawl interval (control_plane.storage_crawl_interval).</EmptyState>
      ) : (
        <GrowthChart points={growth.data.items} />
      )}
      <h3>Backends</h3>
      <PagedList<BackendRow>
        label="backends"
        paged={backends}
        rowKey={(b) => b.name}
        empty={{ title: 'No backends', hint: 'Start the control plane with --config naming a node config whose backends it crawls.' }}
        columns={[
          { header: 'Backend', cell: (b) => b.name },
          { header: 'Type', cell: (b) => b.type },
          { header: 'Objects', cell: (b) => formatCount(b.objects), numeric: true },
          { header: 'Size', cell: (b) => formatBytes(b.bytes), numeric: true },
          { header: 'Last crawl', cell: (b) => formatTime(b.last_crawl) },
        ]}
      />
    </section>
  );
}

function GrowthChart({ points }: { points: GrowthPoint[] }) {
  const { data, backends } = growthByBackend(points);
  // Dots while there are few crawls: a single crawl would otherwise draw nothing at all.
  return (
    <div className="chart" data-testid="growth-chart">
      <ResponsiveContainer width="100%" height={280}>
        <LineChart data={data}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="day" minTickGap={24} />
          <YAxis tickFormatter={(v: number) => formatBytes(v)} width={80} />
          <Tooltip formatter={(v) => formatBytes(Number(v))} />
          <Legend />
          {backends.map((b, i) => (
            <Line key={b} type="stepAfter" dataKey={b} stroke={palette(i)} dot={data.length <= 60} isAnimationActive={false} />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}
