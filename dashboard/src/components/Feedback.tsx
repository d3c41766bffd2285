import type { ReactNode } from 'react';
import type { ApiError } from '../api/client';

/** The server's own message for a failed call (status, title and detail), never a blank page. */
export function ErrorBanner({ error }: { error: ApiError }) {
  return (
    <div role="alert" className="error-banner">
      <strong>{error.status ? `${error.status} ${error.title}` : error.title}</strong>
      {error.detail && <span>: {error.detail}</span>}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status">
      Loading {what}…
    </p>
  );
}

/** An empty answer says what would fill it. */
export function EmptyState({ title, children }: { title: string; children: ReactNode }) {
  return (
    <div className="empty-state">
      <strong>{title}</strong>
      <p>{children}</p>
    </div>
  );
}
