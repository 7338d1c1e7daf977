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
# The resident pages can be tried outside WeChat in the demo only; the
# fake UnionPay gateway of the demo may send the browser back (cors).
sed -e "s|^path = data$|path = $root/data|" \
    -e "s|^root = build/sao$|root = $root/build/sao|" \
    -e "s|^# dev_login = False$|dev_login = True|" \
    -e "s|^# cors =$|cors = http://127.0.0.1:8010|" trytond.conf \
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
# The fake UnionPay gateway residents pay through (loopback only): its
# keys first, which the demo's gateway configuration reads
.venv/bin/python -m tests.fakes.unionpay --dir data/fake-unionpay --init
.venv/bin/python scripts/load_demo.py "$db"
cat <<MSG

  水电计量收费平台 (demo) — http://127.0.0.1:8000/
  Database: $db    Login: admin / admin   (demo only)
  Other demo users: manager / manager-demo (管理人员), field / field-demo
  (外线, 东校区), finance / finance-demo, desk / desk-demo.
  Resident pages (outside WeChat, demo login):
  http://127.0.0.1:8000/$db/wechat/  (OpenID demo-resident, bound to E00001)
  Online payment goes to the fake UnionPay gateway on
  http://127.0.0.1:8010/ (no real gateway is contacted).
  Stop with Ctrl-C.

MSG
.venv/bin/python -m tests.fakes.unionpay --dir data/fake-unionpay \
    --port 8010 >data/fake-unionpay/gateway.log 2>&1 &
fake_unionpay=$!
trap 'rm -f "$passfile"; kill "$fake_unionpay" 2>/dev/null' EXIT
.venv/bin/trytond -d "$db"
