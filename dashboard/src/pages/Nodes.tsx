import type { ApiClient } from '../api/client';
import type { NodeRow } from '../api/types';
import { PagedList } from '../components/PagedList';
import { formatAge, formatBytes, formatCount, formatPercent } from '../format';
import { usePaged } from '../hooks';
import { nodeHealth, silentAfterMinutes } from '../series';

/**
 * What each node agent reported in the last 7 days, from its telemetry events: reads, bytes, hit ratio, bytes
 * brought into its cache (misses) and when it last reported. Agents do not report their cache's size on disk yet.
 */
export function Nodes({ client }: { client: ApiClient }) {
  const nodes = usePaged<NodeRow>(client, '/nodes', { days: 7, limit: 50 });
  const now = new Date();
  return (
    <section>
      <header className="page-header">
        <h2>Nodes</h2>
      </header>
      <p className="hint">
        From the node agents' telemetry of the last 7 days. A node is “silent” when it has not reported for {silentAfterMinutes} minutes (an idle node reports nothing). Cache fill = bytes read on cache misses, i.e. brought into the node's cache.
      </p>
      <PagedList<NodeRow>
        label="nodes"
        paged={nodes}
        rowKey={(n) => n.node}
        empty={{ title: 'No telemetry yet', hint: 'Enable telemetry in the node config (telemetry.enabled: true, sink: http or grpc to this control plane); each agent then appears here by node name.' }}
        columns={[
          { header: 'Node', cell: (n) => n.node },
          {
            header: 'Health',
            cell: (n) => {
              const health = nodeHealth(n.last_seen, now);
              return <span className={`badge badge-${health === 'reporting' ? 'ok' : 'warn'}`}>{health}</span>;
            },
          },
          { header: 'Last report', cell: (n) => formatAge(n.last_seen, now) },
          { header: 'Reads', cell: (n) => formatCount(n.reads), numeric: true },
          { header: 'Bytes read', cell: (n) => formatBytes(n.bytes_read), numeric: true },
          { header: 'Cache hit ratio', cell: (n) => formatPercent(n.cache_hit_ratio), numeric: true },
          { header: 'Cache fill', cell: (n) => formatBytes(n.miss_bytes), numeric: true },
        ]}
      />
    </section>
  );
}
