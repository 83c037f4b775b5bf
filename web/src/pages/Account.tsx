import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { getJson, postJson, request, setSession, SIGNED_OUT, type Tokens } from '../api/client';
import { meQuery } from '../api/queries';
import { ErrorMessage, Pending, dateTime } from '../components';
import type { SignIns } from '../api/types';
import { can } from '../lib/roles';

const SIGN_INS = ['sign-ins'] as const;

/** One's own account: where one is signed in, one's email; the owner's export and
 * deletion; leaving. */
export function Account() {
  const queries = useQueryClient();
  const me = useQuery(meQuery());
  const signIns = useQuery({ queryKey: SIGN_INS, queryFn: () => getJson<SignIns>('/api/auth/sessions') });
  const end = useMutation({
    mutationFn: (id: string) => request(`/api/auth/sessions/${id}`, { method: 'DELETE' }),
    onSuccess: () => queries.invalidateQueries({ queryKey: SIGN_INS }),
  });
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const changeEmail = useMutation({
    mutationFn: () => postJson<Tokens>('/api/auth/email', { new_email: email, current_password: password }),
    onSuccess: (tokens) => {
      setSession(tokens);
      setEmail('');
      setPassword('');
      void queries.invalidateQueries();
    },
  });
  const [confirm, setConfirm] = useState('');
  const remove = useMutation({
    mutationFn: () => request('/api/tenant/deletion', { method: 'POST', body: JSON.stringify({ confirm }) }),
    onSuccess: () => {
      setSession(null);
      window.dispatchEvent(new Event(SIGNED_OUT));
    },
  });
  const leave = useMutation({
    mutationFn: () => request('/api/auth/leave', { method: 'POST' }),
    onSuccess: () => {
      setSession(null);
      window.dispatchEvent(new Event(SIGNED_OUT));
    },
  });
  const download = useMutation({
    mutationFn: async () => {
      const response = await request('/api/tenant/export');
      const url = URL.createObjectURL(await response.blob());
      const link = document.createElement('a');
      link.href = url;
      link.download = `xeno-export-${new Date().toISOString().slice(0, 10)}.zip`;
      link.click();
      URL.revokeObjectURL(url);
    },
  });
  const owner = can(me.data?.user.role, 'owner');
  const submitEmail = (e: FormEvent) => {
    e.preventDefault();
    changeEmail.mutate();
  };
  return (
    <section>
      <h1>Your account</h1>
      <Pending query={me} what="your account" />
      {me.data && (
        <p>
          Signed in as <strong data-email>{me.data.user.email}</strong> ({me.data.user.role}) of {me.data.tenant.name}.
        </p>
      )}
      <h2>Where you are signed in</h2>
      <Pending query={signIns} what="your sign-ins" />
      {signIns.data && (
        <ul>
          {signIns.data.data.map((s) => (
            <li key={s.id} data-sign-in={s.current ? 'current' : 'other'}>
              Since {dateTime(s.signed_in_at)}, last active {dateTime(s.last_refreshed_at)}
              {s.current ? (
                ' (this browser)'
              ) : (
                <>
                  {' '}
                  <button type="button" onClick={() => end.mutate(s.id)} disabled={end.isPending}>
                    Sign out there
                  </button>
                </>
              )}
            </li>
          ))}
        </ul>
      )}
      <h2>Change your email</h2>
      <form className="connect" onSubmit={submitEmail}>
        <label className="field">
          New email
          <input name="new_email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} required />
        </label>
        <label className="field">
          Current password
          <input name="current_password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        <button type="submit" disabled={changeEmail.isPending}>
          Change email
        </button>
      </form>
      {changeEmail.error ? <ErrorMessage error={changeEmail.error} /> : null}
      {changeEmail.isSuccess && <p className="ok">Your email is changed; other browsers are signed out.</p>}
      {owner ? (
        <>
          <h2>Everything, to take away</h2>
          <p className="hint">A ZIP with one CSV per table: customers, orders, products, checkouts, members, the audit log… Passwords and tokens are left out.</p>
          <button type="button" onClick={() => download.mutate()} disabled={download.isPending}>
            {download.isPending ? 'Preparing…' : 'Download all data'}
          </button>
          {download.error ? <ErrorMessage error={download.error} /> : null}
          <h2>Delete the account</h2>
          <p className="warning">
            Every store is disconnected from Shopify and every record, member and key is deleted. This cannot be undone. Type the account&apos;s name to confirm.
          </p>
          <form
            className="connect"
            onSubmit={(e) => {
              e.preventDefault();
              remove.mutate();
            }}
          >
            <label className="field">
              Account name
              <input name="confirm_name" value={confirm} onChange={(e) => setConfirm(e.target.value)} required />
            </label>
            <button type="submit" disabled={remove.isPending || confirm !== me.data?.tenant.name}>
              Delete the account
            </button>
          </form>
          {remove.error ? <ErrorMessage error={remove.error} /> : null}
        </>
      ) : (
        <>
          <h2>Leave {me.data?.tenant.name}</h2>
          <button type="button" onClick={() => leave.mutate()} disabled={leave.isPending}>
            Leave the account
          </button>
          {leave.error ? <ErrorMessage error={leave.error} /> : null}
        </>
      )}
    </section>
  );
}
