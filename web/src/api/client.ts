/**
 * The API client: the session's short-lived token on every request, renewed silently with
 * its refresh token when it expires; problem+json errors as exceptions.
 */

const TOKEN_KEY = 'xeno.token';
const REFRESH_KEY = 'xeno.refresh';

/** What sign-in, sign-up, a refresh and a password change answer. */
export interface Tokens {
  token: string;
  refresh_token: string;
}

export function getToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

/** Keeps a session's tokens, or forgets them (null). */
export function setSession(tokens: Tokens | null): void {
  if (tokens) {
    localStorage.setItem(TOKEN_KEY, tokens.token);
    localStorage.setItem(REFRESH_KEY, tokens.refresh_token);
  } else {
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(REFRESH_KEY);
  }
}

/** One refresh at a time: requests that find the token expired together wait for it. */
let refreshing: Promise<boolean> | null = null;

function refreshSession(): Promise<boolean> {
  const refreshToken = localStorage.getItem(REFRESH_KEY);
  if (!refreshToken) {
    return Promise.resolve(false);
  }
  refreshing ??= (async () => {
    try {
      const response = await fetch('/api/auth/refresh', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refresh_token: refreshToken }),
      });
      if (!response.ok) {
        return false;
      }
      setSession((await response.json()) as Tokens);
      return true;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

export interface FieldError {
  field: string;
  message: string;
}

/** An RFC 9457 problem the API answered with. */
export class ApiProblem extends Error {
  status: number;
  code: string;
  errors: FieldError[];

  constructor(status: number, title: string, detail: string | undefined, code: string, errors: FieldError[]) {
    super(detail ?? title);
    this.status = status;
    this.code = code;
    this.errors = errors;
  }

  /** The message for one field, if the API named it. */
  field(name: string): string | undefined {
    return this.errors.find((e) => e.field === name)?.message;
  }
}

async function problemOf(response: Response): Promise<ApiProblem> {
  try {
    const body = await response.json();
    return new ApiProblem(response.status, body.title ?? response.statusText, body.detail, body.code ?? 'error', body.errors ?? []);
  } catch {
    return new ApiProblem(response.status, `The server answered ${response.status}`, undefined, 'error', []);
  }
}

/** Signals that the session ended (the app returns to sign-in). */
export const SIGNED_OUT = 'xeno:signed-out';

export async function request(path: string, init: RequestInit = {}, retried = false): Promise<Response> {
  const headers = new Headers(init.headers);
  const token = getToken();
  if (token) {
    headers.set('authorization', `Bearer ${token}`);
  }
  if (init.body && !headers.has('content-type')) {
    headers.set('content-type', 'application/json');
  }
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers });
  } catch {
    throw new ApiProblem(0, 'Xeno cannot be reached', 'Xeno cannot be reached. Check your connection and try again.', 'network', []);
  }
  if (response.status === 401 && token) {
    // An expired token is renewed once and the request made again; a session that has
    // ended (signed out elsewhere, password changed) returns to sign-in.
    if (!retried && (await refreshSession())) {
      return request(path, init, true);
    }
    setSession(null);
    window.dispatchEvent(new Event(SIGNED_OUT));
  }
  if (!response.ok) {
    throw await problemOf(response);
  }
  return response;
}

export async function getJson<T>(path: string): Promise<T> {
  const response = await request(path);
  return (await response.json()) as T;
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  const response = await request(path, { method: 'POST', body: JSON.stringify(body) });
  return (await response.json()) as T;
}

/** A query string from the defined values only. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') {
      search.set(key, String(value));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
