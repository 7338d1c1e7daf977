#!/usr/bin/env bash
# `make demo`: the suite on its embedded default (SQLite under ./data),
# every addon activated, Chinese for the users, demo data loaded, and the
# server with the web client on http://127.0.0.1:8000.  Re-running it
# updates the database in place and loads nothing twice.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
db=${METER_DEMO_DB:-meter}
mkdir -p data
# SQLite and the web root want absolute paths: a copy of the server
# configuration with them.
# The resident pages can be tried outside WeChat in the demo only.
sed -e "s|^path = data$|path = $root/data|" \
    -e "s|^root = build/sao$|root = $root/build/sao|" \
    -e "s|^# dev_login = False$|dev_login = True|" trytond.conf \
    > data/trytond.conf
export TRYTOND_CONFIG=$root/data/trytond.conf
[ -f "data/$db.sqlite" ] || touch "data/$db.sqlite"
passfile=$(mktemp)
trap 'rm -f "$passfile"' EXIT
printf 'admin' > "$passfile"
echo "Activating the addons in data/$db.sqlite (takes a minute) ..."
TRYTONPASSFILE=$passfile .venv/bin/trytond-admin -d "$db" \
    --email admin@example.com --all --activate-dependencies -l zh_CN \
    -u meter_base meter_service meter_devices meter_billing meter_wechat \
    meter_field
.venv/bin/python scripts/load_demo.py "$db"
cat <<MSG

  水电计量收费平台 (demo) — http://127.0.0.1:8000/
  Database: $db    Login: admin / admin   (demo only)
  Other demo users: manager / manager-demo (管理人员), field / field-demo
  (外线, 东校区), finance / finance-demo, desk / desk-demo.
  Resident pages (outside WeChat, demo login):
  http://127.0.0.1:8000/$db/wechat/  (OpenID demo-resident, bound to E00001)
  Stop with Ctrl-C.

MSG
exec .venv/bin/trytond -d "$db"
