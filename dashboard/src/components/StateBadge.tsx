import type { QuotaState } from '../api/types';
import { quotaStateLabel } from '../series';

export function StateBadge({ state }: { state: QuotaState }) {
  const { text, tone } = quotaStateLabel(state);
  return (
    <span className={`badge badge-${tone}`} data-state={state}>
      {text}
    </span>
  );
}
