-- API keys: programmatic access for BI tools and scripts, without a person's password. Only a
-- SHA-256 hash of the secret is kept (the key is shown once), with a visible prefix to tell
-- keys apart; a key acts with its role (an analyst key only reads) for its creator's tenant,
-- until it expires or is revoked.
CREATE TABLE api_keys (
    tenant_id    uuid NOT NULL,
    key_id       uuid NOT NULL,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    prefix       text NOT NULL,
    secret_hash  bytea NOT NULL,
    role         text NOT NULL CHECK (role IN ('analyst', 'admin')),
    created_by   uuid NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    last_used_ip text,
    revoked_at   timestamptz,
    PRIMARY KEY (tenant_id, key_id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX api_keys_creator ON api_keys (tenant_id, created_by);

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_keys USING (tenant_id = xeno_current_tenant())
    WITH CHECK (tenant_id = xeno_current_tenant());
