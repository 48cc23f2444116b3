#!/bin/bash
# Runs once from /docker-entrypoint-initdb.d on a fresh data volume:
# creates one database per service, owned by $POSTGRES_USER.
set -euo pipefail

for db in rac_applications rac_scoring rac_plans rac_billing rac_notifications rac_gateway; do
    echo "Creating database ${db}"
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" \
        -c "CREATE DATABASE \"${db}\" OWNER \"${POSTGRES_USER}\";"
done
