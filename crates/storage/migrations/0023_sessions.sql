-- Sessions: each sign-in starts a family of refresh tokens; a refresh replaces the token it
-- used (rotation), a token presented after it was replaced revokes its whole family (it was
-- stolen or replayed), and signing out or changing the password revokes too. Access tokens
-- name their session, so a revoked session's tokens stop at once. Only a hash of each
-- refresh token is kept.
CREATE TABLE sessions (
    tenant_id    uuid NOT NULL,
    session_id   uuid NOT NULL,
    user_id      uuid NOT NULL,
    family_id    uuid NOT NULL,
    refresh_hash bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    -- When its refresh token was exchanged for the next one.
    rotated_at   timestamptz,
    revoked_at   timestamptz,
    PRIMARY KEY (tenant_id, session_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX sessions_family ON sessions (tenant_id, family_id);
CREATE INDEX sessions_user ON sessions (tenant_id, user_id);

ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sessions USING (tenant_id = xeno_current_tenant())
    WITH CHECK (tenant_id = xeno_current_tenant());
