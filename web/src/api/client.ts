/** The API client: bearer token from the session, problem+json errors as exceptions. */

const TOKEN_KEY = 'xeno.token';

export function getToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token) {
    localStorage.setItem(TOKEN_KEY, token);
  } else {
    localStorage.removeItem(TOKEN_KEY);
  }
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

export async function request(path: string, init: RequestInit = {}): Promise<Response> {
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
    setToken(null);
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
