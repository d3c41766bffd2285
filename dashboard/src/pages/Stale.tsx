import { useState } from 'react';
import { ApiError, type ApiClient } from '../api/client';
import type { StaleObject } from '../api/types';
import { ErrorBanner } from '../components/Feedback';
import { PagedList } from '../components/PagedList';
import { formatBytes, formatTime } from '../format';
import { usePaged } from '../hooks';
import { gibToBytes } from '../format';

/**
 * Objects not read for N days, paged by the server in last-access order (oldest or newest first: the server's
 * keyset order, so sorting covers the whole list, not just the page). "Export CSV" asks the server for a stream.
 */
export function Stale({ client }: { client: ApiClient }) {
  const [days, setDays] = useState(90);
  const [minGib, setMinGib] = useState(0);
  const [backend, setBackend] = useState('');
  const [order, setOrder] = useState<'oldest' | 'newest'>('oldest');
  const [exportError, setExportError] = useState<ApiError>();
  const [exporting, setExporting] = useState(false);
  const filter = { days, min_size: minGib > 0 ? gibToBytes(minGib) : undefined, backend: backend || undefined, order };
  const stale = usePaged<StaleObject>(client, '/stale', { ...filter, limit: 50 });

  const exportCsv = async () => {
    setExporting(true);
    setExportError(undefined);
    try {
      // The server streams the CSV page by page; the browser gets it as one file with the bearer header set.
      const blob = await client.download('/stale/export', filter);
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = `stale-${days}d.csv`;
      a.click();
      URL.revokeObjectURL(url);
    } catch (e) {
      setExportError(e instanceof ApiError ? e : new ApiError(0, 'Export failed', String(e)));
    } finally {
      setExporting(false);
    }
  };

  return (
    <section>
      <header className="page-header">
        <h2>Stale data</h2>
      </header>
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="stale filters">
        <label>
          Not read for{' '}
          <input type="number" min="0" max="36500" value={days} onChange={(e) => setDays(Math.max(0, Number(e.target.value)))} aria-label="days" /> days
        </label>
        <label>
          Min size (GiB) <input type="number" min="0" step="any" value={minGib} onChange={(e) => setMinGib(Math.max(0, Number(e.target.value)))} aria-label="min size" />
        </label>
        <label>
          Backend <input value={backend} onChange={(e) => setBackend(e.target.value.trim())} placeholder="all" aria-label="backend" />
        </label>
        <button type="button" onClick={exportCsv} disabled={exporting}>
          {exporting ? 'Exporting…' : 'Export CSV'}
        </button>
      </form>
      {exportError && <ErrorBanner error={exportError} />}
      <PagedList<StaleObject>
        label="stale objects"
        paged={stale}
        rowKey={(o) => `${o.backend}\u0000${o.path}`}
        empty={{ title: `Nothing unread for ${days} days`, hint: 'Objects appear after a crawl indexes a backend (warpdrive-ctl crawl, or the crawl interval); try fewer days.' }}
        columns={[
          { header: 'Backend', cell: (o) => o.backend },
          { header: 'Path', cell: (o) => <code>{o.path}</code> },
          { header: 'Size', cell: (o) => formatBytes(o.size), numeric: true },
          {
            header: 'Last read',
            cell: (o) => formatTime(o.last_access),
            sorted: order === 'oldest' ? 'asc' : 'desc',
            onSort: () => setOrder(order === 'oldest' ? 'newest' : 'oldest'),
          },
          { header: 'Last modified', cell: (o) => formatTime(o.last_modified) },
        ]}
      />
    </section>
  );
}
