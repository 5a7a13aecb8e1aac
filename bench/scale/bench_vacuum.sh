#!/usr/bin/env bash
# The reports table's insert vacuum, PostgreSQL's default against reports migration 0008's
# setting, side by side in one run: two copies of a reports-like table (the regions panel's
# partial index, report_region_recent), each filled with ROWS rows and vacuumed, one with
# autovacuum_vacuum_insert_scale_factor = 0.01; then ROUNDS batches of BATCH new reports
# every 10 s into both, as a flood day brings them (18 x 20,000: 18 % of the table, under
# the default's 20 %); then the panel's read on each
# (EXPLAIN ANALYZE): "Heap Fetches" counts the index rows whose page was not all-visible.
#
#     bash bench/scale/bench_vacuum.sh          # about 5 minutes; figures in bench/scale/README.md
#     ROWS=500000 BATCH=5000 ROUNDS=12 PAUSE=10 bash bench/scale/bench_vacuum.sh
set -euo pipefail
url=${BENCH_PG_URL:-postgres://outagewatch:outagewatch@127.0.0.1:5432/postgres}
rows=${ROWS:-2000000}
batch=${BATCH:-20000}
rounds=${ROUNDS:-18}
db=ow_vacuum_$$
psql -q "$url" -c "CREATE DATABASE $db"
trap 'psql -q "$url" -c "DROP DATABASE IF EXISTS $db" >/dev/null' EXIT
run() { psql -q -v ON_ERROR_STOP=1 "${url%/*}/$db" "$@"; }
for t in r_default r_sooner; do
  run <<SQL
CREATE TABLE $t (id bigserial PRIMARY KEY, service int, created_at timestamptz, counted bool,
                 country text, subdivision text);
INSERT INTO $t (service, created_at, counted, country, subdivision)
  SELECT 1 + g % 50, now() - interval '30 days' + g * interval '1 second', true, 'DE',
         CASE WHEN g % 10 = 0 THEN 'Berlin' ELSE '' END
  FROM generate_series(1, $rows) g;
CREATE INDEX ${t}_region ON $t (service, created_at, country, subdivision)
  WHERE counted AND subdivision <> '';
VACUUM ANALYZE $t;
SQL
done
run -c "ALTER TABLE r_sooner SET (autovacuum_vacuum_insert_scale_factor = 0.01)"
for _ in $(seq 1 "$rounds"); do
  for t in r_default r_sooner; do
    run -c "INSERT INTO $t (service, created_at, counted, country, subdivision)
            SELECT 1, now() - interval '1 hour' + g * interval '10 ms', true, 'DE',
                   CASE WHEN g % 10 = 0 THEN 'Bayern' ELSE '' END
            FROM generate_series(1, $batch) g"
  done
  sleep "${PAUSE:-10}"
done
for t in r_default r_sooner; do
  echo "== $t ($((rows)) rows, then $((rounds * batch)) new)"
  run -Atc "SELECT 'autovacuums: ' || autovacuum_count FROM pg_stat_user_tables
            WHERE relname = '$t'"
  for _ in 1 2 3; do
    run -Atc "SET enable_seqscan = off; SET enable_bitmapscan = off;
              EXPLAIN (ANALYZE) SELECT country, subdivision, count(*) FROM $t
              WHERE service = 1 AND counted AND subdivision <> ''
                AND created_at >= now() - interval '24 hours' GROUP BY 1, 2" |
      grep -E "Heap Fetches|Execution Time" | tr -s ' ' | paste -sd' '
  done
done
