import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { getJson, postJson, request } from '../api/client';
import { meQuery } from '../api/queries';
import { Empty, ErrorMessage, Pending, dateTime } from '../components';
import type { AuditPage, CreatedInvitation, Invitation, Member } from '../api/types';
import { ROLE_WORDS, can, type Role } from '../lib/roles';
import { humanize } from '../lib/words';

const MEMBERS = ['members'] as const;
const INVITATIONS = ['invitations'] as const;

/** The account's members and their roles, invitations, and the audit log. */
export function Team() {
  const queries = useQueryClient();
  const me = useQuery(meQuery());
  const role = me.data?.user.role;
  const admin = can(role, 'admin');
  const members = useQuery({ queryKey: MEMBERS, queryFn: () => getJson<{ data: Member[] }>('/api/members') });
  const invitations = useQuery({
    queryKey: INVITATIONS,
    queryFn: () => getJson<{ data: Invitation[] }>('/api/members/invitations'),
    enabled: admin,
  });
  const audit = useQuery({ queryKey: ['audit'], queryFn: () => getJson<AuditPage>('/api/audit?limit=50'), enabled: admin });
  const refresh = () => {
    void queries.invalidateQueries({ queryKey: MEMBERS });
    void queries.invalidateQueries({ queryKey: INVITATIONS });
    void queries.invalidateQueries({ queryKey: ['audit'] });
  };
  const [email, setEmail] = useState('');
  const [invitedRole, setInvitedRole] = useState<Role>('analyst');
  const [created, setCreated] = useState<CreatedInvitation | null>(null);
  const invite = useMutation({
    mutationFn: () => postJson<CreatedInvitation>('/api/members/invitations', { email, role: invitedRole }),
    onSuccess: (invitation) => {
      setCreated(invitation);
      setEmail('');
      refresh();
    },
  });
  const changeRole = useMutation({
    mutationFn: ({ id, to }: { id: string; to: string }) =>
      request(`/api/members/${id}`, { method: 'PATCH', body: JSON.stringify({ role: to }), headers: { 'content-type': 'application/json' } }),
    onSuccess: refresh,
  });
  const remove = useMutation({
    mutationFn: (id: string) => request(`/api/members/${id}`, { method: 'DELETE' }),
    onSuccess: refresh,
  });
  const revoke = useMutation({
    mutationFn: (id: string) => request(`/api/members/invitations/${id}`, { method: 'DELETE' }),
    onSuccess: refresh,
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    invite.mutate();
  };
  const grantable = (['viewer', 'analyst', 'admin'] as Role[]).filter((r) => can(role, r));
  return (
    <section>
      <h1>Team</h1>
      <ul className="hint">
        {Object.values(ROLE_WORDS).map((line) => (
          <li key={line}>{line}</li>
        ))}
      </ul>
      <h2>Members</h2>
      <Pending query={members} what="members" />
      {changeRole.error ? <ErrorMessage error={changeRole.error} /> : null}
      {members.data && (
        <div className="scroll">
          <table>
            <thead>
              <tr>
                <th>Email</th>
                <th>Role</th>
                <th>Joined</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {members.data.data.map((m) => (
                <tr key={m.id} data-member-email={m.email}>
                  <td>{m.email}</td>
                  <td>
                    {m.role === 'owner' ? (
                      'Owner'
                    ) : (
                      <select
                        aria-label={`Role of ${m.email}`}
                        value={m.role}
                        disabled={!admin || changeRole.isPending}
                        onChange={(e) => changeRole.mutate({ id: m.id, to: e.target.value })}
                      >
                        {(['viewer', 'analyst', 'admin'] as Role[]).map((r) => (
                          <option key={r} value={r} disabled={!can(role, r)}>
                            {humanize(r)}
                          </option>
                        ))}
                      </select>
                    )}
                  </td>
                  <td>{dateTime(m.joined_at)}</td>
                  <td>
                    {m.role !== 'owner' && (
                      <button type="button" disabled={!admin || remove.isPending} onClick={() => remove.mutate(m.id)}>
                        Remove
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2>Invite someone</h2>
      {!admin && <p className="hint">Only admins invite people.</p>}
      <form className="connect" onSubmit={submit}>
        <label className="field">
          Email
          <input name="invite_email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} required disabled={!admin} />
        </label>
        <label className="field">
          Role
          <select name="invite_role" value={invitedRole} onChange={(e) => setInvitedRole(e.target.value as Role)} disabled={!admin}>
            {grantable.map((r) => (
              <option key={r} value={r}>
                {humanize(r)}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" disabled={!admin || invite.isPending}>
          Create invitation
        </button>
      </form>
      {invite.error ? <ErrorMessage error={invite.error} /> : null}
      {created && (
        <p className="warning" role="status">
          {created.mailed ? `Mailed to ${created.invitation.email}; the link, should they need it again` : `Send this link to ${created.invitation.email}`}; it works once, until{' '}
          {dateTime(created.invitation.expires_at)}, and is not shown again:{' '}
          <code data-invitation-link>{created.link}</code>
        </p>
      )}
      {admin && (
        <>
          <h2>Pending invitations</h2>
          <Pending query={invitations} what="invitations" />
          {invitations.data && invitations.data.data.length === 0 && <Empty>None pending.</Empty>}
          {invitations.data && invitations.data.data.length > 0 && (
            <ul>
              {invitations.data.data.map((i) => (
                <li key={i.id} data-invitation={i.email}>
                  {i.email} as {humanize(i.role)}, until {dateTime(i.expires_at)}{' '}
                  <button type="button" onClick={() => revoke.mutate(i.id)} disabled={revoke.isPending}>
                    Revoke
                  </button>
                </li>
              ))}
            </ul>
          )}
          <h2>Audit log</h2>
          <Pending query={audit} what="the audit log" />
          {audit.data && (
            <div className="scroll">
              <table>
                <thead>
                  <tr>
                    <th>When</th>
                    <th>Who</th>
                    <th>What</th>
                    <th>From</th>
                  </tr>
                </thead>
                <tbody>
                  {audit.data.data.map((e) => (
                    <tr key={e.id} data-audit={e.action}>
                      <td>{dateTime(e.at)}</td>
                      <td>{e.actor_email ?? '—'}{e.actor_key ? ' (API key)' : ''}</td>
                      <td>{humanize(e.action.replace('.', ' '))}</td>
                      <td>{e.address ?? '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </section>
  );
}
