import { useCallback, useEffect, useMemo, useState } from 'react';
import { ApiClient } from './api/client';
import type { WhoAmI } from './api/types';
import { ErrorBanner, Loading } from './components/Feedback';
import { LoginForm } from './components/LoginForm';
import { useLoad } from './hooks';
import { Growth } from './pages/Growth';
import { Nodes } from './pages/Nodes';
import { Overview } from './pages/Overview';
import { Stale } from './pages/Stale';
import { TeamDetail } from './pages/TeamDetail';
import { Teams } from './pages/Teams';
import { forgetToken, loadToken, saveToken } from './session';

const pages = [
  { path: '/', title: 'Overview' },
  { path: '/teams', title: 'Teams' },
  { path: '/stale', title: 'Stale data' },
  { path: '/growth', title: 'Growth' },
  { path: '/nodes', title: 'Nodes' },
] as const;

/** Client-side routes on real paths (the control plane answers index.html for any page path). */
function usePath(): [string, (path: string) => void] {
  const [path, setPath] = useState(window.location.pathname);
  useEffect(() => {
    const onPop = () => setPath(window.location.pathname);
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const navigate = useCallback((to: string) => {
    window.history.pushState(null, '', to);
    setPath(to);
  }, []);
  return [path, navigate];
}

/** No token: the login form and nothing else. A 401 anywhere forgets the token and comes back here. */
export function App() {
  const [token, setToken] = useState<string | null>(loadToken());
  const [loginMessage, setLoginMessage] = useState<string>();
  const signOut = useCallback((message?: string) => {
    forgetToken();
    setToken(null);
    setLoginMessage(message);
  }, []);
  if (!token) {
    return (
      <LoginForm
        message={loginMessage}
        onLogin={(t) => {
          saveToken(t);
          setLoginMessage(undefined);
          setToken(t);
        }}
      />
    );
  }
  return <SignedIn token={token} onSignOut={signOut} />;
}

function SignedIn({ token, onSignOut }: { token: string; onSignOut: (message?: string) => void }) {
  const client = useMemo(() => new ApiClient(token, () => onSignOut('The control plane did not accept that token (401). Sign in again.')), [token, onSignOut]);
  const me = useLoad(() => client.get<WhoAmI>('/whoami'), token);
  const [path, navigate] = usePath();

  return (
    <div className="app">
      <header className="top">
        <h1>WarpDrive governance</h1>
        <nav aria-label="pages">
          {pages.map((p) => (
            <a
              key={p.path}
              href={p.path}
              aria-current={active(path, p.path) ? 'page' : undefined}
              onClick={(e) => {
                e.preventDefault();
                navigate(p.path);
              }}
            >
              {p.title}
            </a>
          ))}
        </nav>
        <span className="who">
          {me.data && (
            <>
              {me.data.name} <span className={`role role-${me.data.role}`}>{me.data.role}</span>
            </>
          )}
          <button type="button" onClick={() => onSignOut()}>
            Sign out
          </button>
        </span>
      </header>
      <main>
        {me.error ? <ErrorBanner error={me.error} /> : !me.data ? <Loading what="your role" /> : <Page path={path} client={client} isAdmin={me.data.role === 'admin'} navigate={navigate} />}
      </main>
    </div>
  );
}

function active(path: string, page: string): boolean {
  return page === '/' ? path === '/' : path === page || path.startsWith(`${page}/`);
}

function Page({ path, client, isAdmin, navigate }: { path: string; client: ApiClient; isAdmin: boolean; navigate: (path: string) => void }) {
  if (path.startsWith('/teams/')) return <TeamDetail key={path} client={client} team={decodeURIComponent(path.slice('/teams/'.length))} navigate={navigate} />;
  switch (path) {
    case '/teams':
      return <Teams client={client} isAdmin={isAdmin} navigate={navigate} />;
    case '/stale':
      return <Stale client={client} />;
    case '/growth':
      return <Growth client={client} />;
    case '/nodes':
      return <Nodes client={client} />;
    default:
      return <Overview client={client} />;
  }
}
