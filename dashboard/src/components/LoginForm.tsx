import { useState, type FormEvent } from 'react';

/** The only thing shown without a token. The token is handed up, never put in the URL (the form posts nowhere). */
export function LoginForm({ onLogin, message }: { onLogin: (token: string) => void; message?: string }) {
  const [token, setToken] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (token.trim()) onLogin(token.trim());
  };
  return (
    <main className="login">
      <h1>WarpDrive governance</h1>
      <form onSubmit={submit} aria-label="sign in">
        <label htmlFor="token">Bearer token</label>
        <input id="token" name="token" type="password" autoComplete="off" value={token} onChange={(e) => setToken(e.target.value)} />
        <button type="submit" disabled={!token.trim()}>
          Sign in
        </button>
        {message && (
          <p role="alert" className="error-banner">
            {message}
          </p>
        )}
        <p className="hint">A reader or admin token from the control plane's tokens file (warpdrive-ctl serve prints where the first admin token is). It is kept in this tab's session storage only.</p>
      </form>
    </main>
  );
}
