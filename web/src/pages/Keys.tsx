import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { getJson, postJson, request } from '../api/client';
import { Empty, ErrorMessage, Pending, dateTime, shortDate } from '../components';
import type { ApiKey, CreatedKey } from '../api/types';

const KEYS = ['api-keys'] as const;

/** API keys for programs (BI tools, scripts): created here, shown once, revocable. */
export function Keys() {
  const queries = useQueryClient();
  const keys = useQuery({ queryKey: KEYS, queryFn: () => getJson<{ data: ApiKey[] }>('/api/keys') });
  const [name, setName] = useState('');
  const [role, setRole] = useState('analyst');
  const [created, setCreated] = useState<CreatedKey | null>(null);
  const create = useMutation({
    mutationFn: () => postJson<CreatedKey>('/api/keys', { name, role }),
    onSuccess: (key) => {
      setCreated(key);
      setName('');
      void queries.invalidateQueries({ queryKey: KEYS });
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) => request(`/api/keys/${id}`, { method: 'DELETE' }),
    onSuccess: () => queries.invalidateQueries({ queryKey: KEYS }),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <section>
      <h1>API keys</h1>
      <p className="hint">
        For BI tools and scripts: send a key as <code>Authorization: Bearer xeno_…</code>. A viewer&apos;s key reads figures without personal data, an analyst&apos;s every figure, list and export; an admin&apos;s
        key can also sync stores and replay events. A key never does more than the person who made it.
      </p>
      <form className="connect" onSubmit={submit}>
        <label className="field">
          Name
          <input name="key_name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
        </label>
        <label className="field">
          Role
          <select name="key_role" value={role} onChange={(e) => setRole(e.target.value)}>
            <option value="viewer">Viewer (no personal data)</option>
            <option value="analyst">Analyst (reads only)</option>
            <option value="admin">Admin</option>
          </select>
        </label>
        <button type="submit" disabled={create.isPending}>
          Create key
        </button>
      </form>
      {create.error ? <ErrorMessage error={create.error} /> : null}
      {created && (
        <p className="warning" role="status">
          Copy this key now; it is not shown again: <code data-secret>{created.secret}</code>
        </p>
      )}
      <Pending query={keys} what="keys" />
      {keys.data && keys.data.data.length === 0 && <Empty>No key yet.</Empty>}
      {keys.data && keys.data.data.length > 0 && (
        <div className="scroll">
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Key</th>
                <th>Role</th>
                <th>Created</th>
                <th>Last used</th>
                <th>State</th>
              </tr>
            </thead>
            <tbody>
              {keys.data.data.map((k) => (
                <tr key={k.id} data-key={k.name}>
                  <td>{k.name}</td>
                  <td>
                    <code>{k.prefix}</code>
                  </td>
                  <td>{k.role === 'admin' ? 'Admin' : 'Analyst'}</td>
                  <td>{shortDate(k.created_at)}</td>
                  <td>{k.last_used_at ? `${dateTime(k.last_used_at)}${k.last_used_ip ? ` from ${k.last_used_ip}` : ''}` : 'never'}</td>
                  <td>
                    {k.revoked_at ? (
                      `revoked ${shortDate(k.revoked_at)}`
                    ) : (
                      <button type="button" onClick={() => revoke.mutate(k.id)}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
