// The bearer token lives in sessionStorage only: gone when the tab closes, never in a URL or localStorage.
const key = 'warpdrive.token';

export function loadToken(): string | null {
  return sessionStorage.getItem(key);
}

export function saveToken(token: string): void {
  sessionStorage.setItem(key, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(key);
}
