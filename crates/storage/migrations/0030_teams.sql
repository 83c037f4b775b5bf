-- Members with roles, invitations to join a tenant, and an audit log.

-- Owner > admin > analyst > viewer (personal data masked); API keys are never owners.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('owner', 'admin', 'analyst', 'viewer'));
ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check
    CHECK (role IN ('admin', 'analyst', 'viewer'));

-- An invitation is a one-time link: only the SHA-256 of its token is kept.
CREATE TABLE invitations (
    tenant_id     uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    invitation_id uuid NOT NULL,
    email         text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'analyst', 'viewer')),
    token_hash    bytea NOT NULL,
    created_by    uuid NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    accepted_at   timestamptz,
    revoked_at    timestamptz,
    PRIMARY KEY (tenant_id, invitation_id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
);
ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invitations
    USING (tenant_id = xeno_current_tenant()) WITH CHECK (tenant_id = xeno_current_tenant());

-- Who did what, when and from where. The service may add and read, never change or remove.
CREATE TABLE audit_events (
    tenant_id  uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    audit_id   uuid NOT NULL,
    at         timestamptz NOT NULL DEFAULT now(),
    actor_user uuid,
    actor_key  uuid,
    action     text NOT NULL,
    subject    text,
    detail     jsonb NOT NULL DEFAULT '{}',
    address    text,
    PRIMARY KEY (tenant_id, audit_id)
);
CREATE INDEX audit_events_recent ON audit_events (tenant_id, at DESC, audit_id DESC);
ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_events
    USING (tenant_id = xeno_current_tenant()) WITH CHECK (tenant_id = xeno_current_tenant());
-- (The runtime role gets no UPDATE or DELETE on it: see setup.rs.)
