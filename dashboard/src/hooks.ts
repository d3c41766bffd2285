import { useCallback, useEffect, useState } from 'react';
import { ApiError, type ApiClient, type Query } from './api/client';
import type { Page } from './api/types';

export interface Loadable<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
}

function asApiError(e: unknown): ApiError {
  return e instanceof ApiError ? e : new ApiError(0, 'Error', e instanceof Error ? e.message : String(e));
}

/** Runs `load` when its key changes (and on reload); the last answer wins, earlier ones are dropped. */
export function useLoad<T>(load: () => Promise<T>, key: string): Loadable<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({ loading: true });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    let current = true;
    setState((s) => ({ data: s.data, loading: true }));
    load().then(
      (data) => current && setState({ data, loading: false }),
      (e: unknown) => current && setState({ error: asApiError(e), loading: false }),
    );
    return () => {
      current = false;
    };
    // `key` stands for everything `load` reads, so `load` itself (a new closure each render) is not a dependency.
  }, [key, generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

export interface Paged<T> extends Loadable<Page<T>> {
  pageNumber: number;
  hasNext: boolean;
  hasPrevious: boolean;
  next: () => void;
  previous: () => void;
}

/**
 * Server-side keyset paging: keeps the cursors of the pages seen so far, so "previous" re-asks for the page before
 * instead of holding rows. A new query starts over at page 1.
 */
export function usePaged<T>(client: ApiClient, path: string, query: Query): Paged<T> {
  const queryKey = `${path}?${JSON.stringify(query)}`;
  const [cursors, setCursors] = useState<{ key: string; stack: (string | null)[] }>({ key: queryKey, stack: [null] });
  // A new query forgets the old one's cursors for good (coming back to a query starts at its page 1 again).
  if (cursors.key !== queryKey) setCursors({ key: queryKey, stack: [null] });
  const stack = cursors.key === queryKey ? cursors.stack : [null];
  const cursor = stack[stack.length - 1] ?? null;
  const loaded = useLoad(() => client.page<T>(path, query, cursor), `${queryKey}#${cursor ?? ''}`);
  const nextCursor = loaded.data?.next_cursor ?? null;
  return {
    ...loaded,
    pageNumber: stack.length,
    hasNext: !loaded.loading && nextCursor !== null,
    hasPrevious: stack.length > 1,
    next: () => nextCursor && setCursors({ key: queryKey, stack: [...stack, nextCursor] }),
    previous: () => stack.length > 1 && setCursors({ key: queryKey, stack: stack.slice(0, -1) }),
  };
}
