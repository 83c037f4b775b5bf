#!/usr/bin/env bash
# Backs up Xeno's database to one file: pg_dump's custom format (compressed; restorable
# whole or table by table, onto PostgreSQL 15 or later), taken in one snapshot, so it is
# consistent while webhooks keep arriving.
#
#   scripts/backup.sh FILE
#
# DATABASE_URL names the database (its user is ignored); DATABASE_ADMIN_URL (a superuser,
# or the owner role) is the connection used. For point-in-time recovery, archive WAL too
# (README: Backups and restore).
set -euo pipefail
file="${1:?usage: scripts/backup.sh FILE}"
: "${DATABASE_URL:?set DATABASE_URL to the database to back up}"
: "${DATABASE_ADMIN_URL:?set DATABASE_ADMIN_URL to a superuser (or owner) connection}"
database="${DATABASE_URL##*/}"
database="${database%%\?*}"
server="${DATABASE_ADMIN_URL%/*}"
pg_dump --format=custom --compress=6 --file="$file" --dbname="$server/$database"
echo "backed up $database to $file ($(du -h "$file" | cut -f1))"
