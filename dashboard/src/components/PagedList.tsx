import type { ReactNode } from 'react';
import type { Paged } from '../hooks';
import { DataTable, Pager, type Column } from './DataTable';
import { EmptyState, ErrorBanner, Loading } from './Feedback';

/** A server-paged list with its loading, error and empty states. */
export function PagedList<T>({ label, paged, columns, rowKey, empty }: { label: string; paged: Paged<T>; columns: Column<T>[]; rowKey: (row: T) => string; empty: { title: string; hint: ReactNode } }) {
  if (paged.error) return <ErrorBanner error={paged.error} />;
  if (!paged.data) return <Loading what={label} />;
  if (paged.data.items.length === 0 && paged.pageNumber === 1) return <EmptyState title={empty.title}>{empty.hint}</EmptyState>;
  return (
    <div className={paged.loading ? 'stale-while-loading' : undefined}>
      <DataTable label={label} columns={columns} rows={paged.data.items} rowKey={rowKey} />
      <Pager pageNumber={paged.pageNumber} hasPrevious={paged.hasPrevious} hasNext={paged.hasNext} onPrevious={paged.previous} onNext={paged.next} />
    </div>
  );
}
