import type { ReactNode } from 'react';

export interface Column<T> {
  header: string;
  cell: (row: T) => ReactNode;
  numeric?: boolean;
  /** When set, the header is a button (sorting is the caller's: often a server-side order). */
  onSort?: () => void;
  sorted?: 'asc' | 'desc';
}

/** A plain table of rows; sorting and paging live with the caller, which knows whether the server does them. */
export function DataTable<T>({ label, columns, rows, rowKey }: { label: string; columns: Column<T>[]; rows: T[]; rowKey: (row: T) => string }) {
  return (
    <table aria-label={label}>
      <thead>
        <tr>
          {columns.map((c) => (
            <th key={c.header} className={c.numeric ? 'num' : undefined} aria-sort={c.sorted === 'asc' ? 'ascending' : c.sorted === 'desc' ? 'descending' : undefined}>
              {c.onSort ? (
                <button type="button" className="sort" onClick={c.onSort}>
                  {c.header} {c.sorted === 'asc' ? '▲' : c.sorted === 'desc' ? '▼' : '↕'}
                </button>
              ) : (
                c.header
              )}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={rowKey(row)}>
            {columns.map((c) => (
              <td key={c.header} className={c.numeric ? 'num' : undefined}>
                {c.cell(row)}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Previous / next over server-side keyset pages. */
export function Pager({ pageNumber, hasPrevious, hasNext, onPrevious, onNext }: { pageNumber: number; hasPrevious: boolean; hasNext: boolean; onPrevious: () => void; onNext: () => void }) {
  return (
    <nav className="pager" aria-label="pages">
      <button type="button" onClick={onPrevious} disabled={!hasPrevious}>
        ← Previous
      </button>
      <span>Page {pageNumber}</span>
      <button type="button" onClick={onNext} disabled={!hasNext}>
        Next →
      </button>
    </nav>
  );
}
