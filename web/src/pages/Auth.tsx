import { useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { ApiProblem, postJson, type Tokens } from '../api/client';

interface Props {
  onSignedIn: (tokens: Tokens) => void;
}

function Field({ name, label, type, error, autoComplete }: { name: string; label: string; type: string; error?: string; autoComplete: string }) {
  const id = `field-${name}`;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} name={name} type={type} autoComplete={autoComplete} aria-invalid={Boolean(error)} aria-describedby={error ? `${id}-error` : undefined} required />
      {error && (
        <span className="field-error" id={`${id}-error`}>
          {error}
        </span>
      )}
    </div>
  );
}

function useSubmit(path: string, fields: string[], onSignedIn: (tokens: Tokens) => void) {
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const body = Object.fromEntries(fields.map((f) => [f, String(form.get(f) ?? '')]));
    setBusy(true);
    setProblem(null);
    try {
      onSignedIn(await postJson<Tokens>(path, body));
    } catch (error) {
      setProblem(error instanceof ApiProblem ? error : new ApiProblem(0, 'Something went wrong', undefined, 'error', []));
    } finally {
      setBusy(false);
    }
  };
  return { problem, busy, submit };
}

export function SignIn({ onSignedIn }: Props) {
  const { problem, busy, submit } = useSubmit('/api/auth/login', ['email', 'password'], onSignedIn);
  return (
    <main className="auth">
      <h1>Sign in to Xeno</h1>
      <form onSubmit={submit} noValidate>
        <Field name="email" label="Email" type="email" autoComplete="username" error={problem?.field('email')} />
        <Field name="password" label="Password" type="password" autoComplete="current-password" error={problem?.field('password')} />
        {problem && problem.errors.length === 0 && (
          <p className="error" role="alert">
            {problem.message}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p>
        New here? <Link to="/signup">Create an account</Link>
      </p>
    </main>
  );
}

export function SignUp({ onSignedIn }: Props) {
  const { problem, busy, submit } = useSubmit('/api/auth/register', ['tenant_name', 'email', 'password'], onSignedIn);
  return (
    <main className="auth">
      <h1>Create your Xeno account</h1>
      <form onSubmit={submit} noValidate>
        <Field name="tenant_name" label="Business name" type="text" autoComplete="organization" error={problem?.field('tenant_name')} />
        <Field name="email" label="Email" type="email" autoComplete="username" error={problem?.field('email')} />
        <Field name="password" label="Password" type="password" autoComplete="new-password" error={problem?.field('password')} />
        {problem && problem.errors.length === 0 && (
          <p className="error" role="alert">
            {problem.message}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create account'}
        </button>
      </form>
      <p>
        Have an account? <Link to="/">Sign in</Link>
      </p>
    </main>
  );
}

/** Joining an account from an invitation's link: choose a password (or give yours, if the
 * email already uses Xeno), and you are in. */
export function Accept({ onSignedIn }: Props) {
  const token = new URLSearchParams(window.location.search).get('token') ?? '';
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const password = String(new FormData(event.currentTarget).get('password') ?? '');
    setBusy(true);
    setProblem(null);
    try {
      onSignedIn(await postJson<Tokens>('/api/auth/accept', { token, password }));
    } catch (error) {
      setProblem(error instanceof ApiProblem ? error : new ApiProblem(0, 'Something went wrong', undefined, 'error', []));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="auth">
      <h1>Join your team on Xeno</h1>
      <form onSubmit={submit} noValidate>
        <p className="hint">New to Xeno? Choose a password. Already using Xeno with this email? Give your password: you will switch between your accounts from the header.</p>
        <Field name="password" label="Password" type="password" autoComplete="current-password" error={problem?.field('password')} />
        {problem && problem.errors.length === 0 && (
          <p className="error" role="alert">
            {problem.message}
          </p>
        )}
        <button type="submit" disabled={busy || !token}>
          {busy ? 'Joining…' : 'Join'}
        </button>
      </form>
    </main>
  );
}
