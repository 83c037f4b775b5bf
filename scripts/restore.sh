#!/usr/bin/env bash
# Restores a backup made by scripts/backup.sh into a new database, on this server or another:
# creates Xeno's roles when the server lacks them (as `xeno migrate` would), creates the
# database, restores every table, index, policy and function with its owner and grants, then
# checks what was restored against the file's table of contents.
#
#   scripts/restore.sh FILE DATABASE
#
# DATABASE_ADMIN_URL is a superuser connection. Point DATABASE_URL at DATABASE afterwards
# and start Xeno: it applies any migrations newer than the backup.
set -euo pipefail
file="${1:?usage: scripts/restore.sh FILE DATABASE}"
database="${2:?usage: scripts/restore.sh FILE DATABASE}"
: "${DATABASE_ADMIN_URL:?set DATABASE_ADMIN_URL to a superuser connection}"
server="${DATABASE_ADMIN_URL%/*}"
admin() { psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 --dbname="$DATABASE_ADMIN_URL" "$@"; }

# The roles the dump's owners and grants name (cluster-wide, so a new server lacks them).
schema=$(pg_restore --schema-only --file=- "$file")
roles=$(printf '%s\n' "$schema" | sed -n -e 's/^ALTER .* OWNER TO \([a-z_][a-z0-9_]*\);$/\1/p' \
  -e 's/^GRANT .* TO \([a-z_][a-z0-9_]*\);$/\1/p' | sort -u | grep -v '^postgres$' || true)
for role in $roles; do
  admin -c "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$role') THEN
        CREATE ROLE $role LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
      END IF;
    END \$\$;"
done
# The database belongs to the role that owns its tables.
owner=$(printf '%s\n' "$schema" | sed -n 's/^ALTER TABLE .* OWNER TO \([a-z_][a-z0-9_]*\);$/\1/p' | sort | uniq -c | sort -rn | awk 'NR == 1 { print $2 }')
admin -c "CREATE DATABASE \"$database\"${owner:+ OWNER $owner}"
pg_restore --exit-on-error --single-transaction --dbname="$server/$database" "$file"
tables=$(pg_restore --list "$file" | grep -c ' TABLE DATA public ' || true)
echo "restored $file into $database ($tables tables of data)"
