-- One person, several tenants. A person (email and password) signs in once; `users` is now
-- their membership of one tenant (the same user_id in each, with a role there). Sign-in
-- finds the person by email, then their tenants in `memberships`; both are directories
-- read before a tenant is known, like `shop_domains`.
CREATE TABLE people (
    user_id       uuid PRIMARY KEY,
    email         text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
INSERT INTO people (user_id, email, password_hash, created_at)
    SELECT user_id, email, password_hash, created_at FROM users;

CREATE TABLE memberships (
    user_id   uuid NOT NULL,
    tenant_id uuid NOT NULL,
    joined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, tenant_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
);
INSERT INTO memberships (user_id, tenant_id, joined_at) SELECT user_id, tenant_id, created_at FROM users;

DROP TABLE user_emails;
ALTER TABLE users DROP COLUMN email, DROP COLUMN password_hash;
ALTER TABLE users ADD CONSTRAINT users_user_id_fkey FOREIGN KEY (user_id) REFERENCES people (user_id);

-- An audit entry names its actor's email as it was then: the person may leave, be removed,
-- or be forgotten with their last account, and the entry still says who acted.
ALTER TABLE audit_events ADD COLUMN actor_email text;
UPDATE audit_events a SET actor_email = p.email FROM people p WHERE p.user_id = a.actor_user;
