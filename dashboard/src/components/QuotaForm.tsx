import { useState, type FormEvent } from 'react';
import type { ApiClient } from '../api/client';
import { ApiError } from '../api/client';
import type { QuotaRow } from '../api/types';
import { formatBytes, gibToBytes } from '../format';
import { ErrorBanner } from './Feedback';

/** Admin only: PUT /quota for a team and backend ("*" = all backends together), limits in GiB. */
export function QuotaForm({ client, onSaved }: { client: ApiClient; onSaved: (quota: QuotaRow) => void }) {
  const [team, setTeam] = useState('');
  const [backend, setBackend] = useState('*');
  const [soft, setSoft] = useState('');
  const [hard, setHard] = useState('');
  const [error, setError] = useState<ApiError>();
  const [saved, setSaved] = useState<QuotaRow>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const quota = await client.put<QuotaRow>('/quota', { team, backend, soft_bytes: gibToBytes(Number(soft)), hard_bytes: gibToBytes(Number(hard)) });
      setSaved(quota);
      onSaved(quota);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, 'Error', String(err)));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="quota-form" onSubmit={submit} aria-label="set a team quota">
      <h3>Set a team quota</h3>
      <label>
        Team <input name="team" value={team} onChange={(e) => setTeam(e.target.value)} required />
      </label>
      <label>
        Backend <input name="backend" value={backend} onChange={(e) => setBackend(e.target.value)} required />
      </label>
      <label>
        Soft (GiB) <input name="soft" type="number" min="0" step="any" value={soft} onChange={(e) => setSoft(e.target.value)} required />
      </label>
      <label>
        Hard (GiB) <input name="hard" type="number" min="0" step="any" value={hard} onChange={(e) => setHard(e.target.value)} required />
      </label>
      <button type="submit" disabled={busy}>
        Save quota
      </button>
      {error && <ErrorBanner error={error} />}
      {saved && !error && (
        <p role="status">
          Saved: {saved.team} on {saved.backend}, soft {formatBytes(saved.soft_bytes)}, hard {formatBytes(saved.hard_bytes)}.
        </p>
      )}
    </form>
  );
}
