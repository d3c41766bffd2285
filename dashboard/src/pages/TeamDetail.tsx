import type { ApiClient } from '../api/client';
import type { TeamObject, UsageRow } from '../api/types';
import { PagedList } from '../components/PagedList';
import { formatBytes, formatCount, formatPercent, formatTime } from '../format';
import { usePaged } from '../hooks';

/** One team: its users' usage and the objects they read, both paged by the server. */
export function TeamDetail({ client, team, navigate }: { client: ApiClient; team: string; navigate: (path: string) => void }) {
  const path = encodeURIComponent(team);
  const users = usePaged<UsageRow>(client, `/team/${path}/users`, { limit: 20 });
  const objects = usePaged<TeamObject>(client, `/team/${path}/objects`, { limit: 20 });
  return (
    <section>
      <header className="page-header">
        <h2>
          <a
            href="/teams"
            onClick={(e) => {
              e.preventDefault();
              navigate('/teams');
            }}
          >
            Teams
          </a>{' '}
          / {team}
        </h2>
      </header>
      <h3>Users (last 30 days)</h3>
      <PagedList<UsageRow>
        label="team users"
        paged={users}
        rowKey={(u) => u.group}
        empty={{ title: 'No reads by this team in the last 30 days', hint: 'Members are set with warpdrive-ctl team set; their reads appear once agents report them.' }}
        columns={[
          { header: 'User', cell: (u) => u.group },
          { header: 'Bytes read', cell: (u) => formatBytes(u.bytes_read), numeric: true },
          { header: 'Reads', cell: (u) => formatCount(u.reads), numeric: true },
          { header: 'Cache hit ratio', cell: (u) => formatPercent(u.cache_hit_ratio), numeric: true },
          { header: 'Objects', cell: (u) => formatCount(u.files), numeric: true },
        ]}
      />
      <h3>Objects the team read</h3>
      <PagedList<TeamObject>
        label="team objects"
        paged={objects}
        rowKey={(o) => `${o.backend}\u0000${o.path}`}
        empty={{ title: 'No objects read by this team', hint: 'Objects appear once the team’s users read through a WarpDrive mount with telemetry on.' }}
        columns={[
          { header: 'Backend', cell: (o) => o.backend },
          { header: 'Path', cell: (o) => <code>{o.path}</code> },
          { header: 'Size', cell: (o) => formatBytes(o.size), numeric: true },
          { header: 'Last read by the team', cell: (o) => formatTime(o.last_access) },
        ]}
      />
    </section>
  );
}
