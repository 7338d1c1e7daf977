"""The five-year database of a large university, generated set-based

``generate(cursor, accounts, months)`` fills a database where the suite
is activated (meter_field and all it depends on) with what a centre holds
after ``months`` months (60: five years) of ``accounts`` accounts (30,000):

- 4 campuses; accounts numbered ``A000001``…, 80 % residents, 10 % units,
  10 % dormitories, every seventh one prepaid;
- 2 meters per account (electricity ``E…`` and water ``W…``), active, with
  a handheld id ``H<meter id>``;
- one reading per meter and month (``months`` × 2 × ``accounts``: 3.6
  million), taken on the 1st at 08:00 (plus up to 10 minutes) of each of
  the ``months`` months up to the previous one, each month's source one of
  self, field staff, handheld, collector and energy platform in turn; the
  readings of residents and staff carry a photo and its thumbnail, four
  small files stored once in the filestore and shared by their ids; all
  confirmed but about 1 % of the last two months' left in draft with an
  anomaly (the readings to review);
- one billing period per month and one bill per account and month but the
  last one (59 × ``accounts``: 1.77 million), each with its usage per kind
  (what the next run reads back); bills of more than two months ago paid,
  those of the last billed month mostly open (posted, some partially paid)
  and a few arrears scattered over the years;  the lines and meters of the
  historic bills are not generated (no list nor run reads them);
- one payment per paid or partially paid bill (its id the bill's), posted
  with a receipt number, and its allocation; prepaid accounts have their
  ledger (a top-up and a deduction a month);
- a WeChat user per account with its approved binding (the residents) and
  five work orders each over the years (150,000), the last ones open.

Everything is INSERT … SELECT through the cursor; the secondary indexes of
the big tables are dropped during their load and built again after it, as
a restore would.  The last billed month is ``months - 2``; the previous
month (``months - 1``) has its readings and its period but no bill: it is
what the next billing run bills.
"""
import datetime as dt
import io

CAMPUSES = 4
SOURCES = ['self', 'field', 'handheld', 'collector', 'platform']
PHOTOS = 4


def month_start(today, back):
    "Return the first day of the month back months before today's"
    index = today.year * 12 + today.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


def history_start(months, today=None):
    "The first day of the first month of the history"
    return month_start(today or dt.date.today(), months)


def billed_month(months, today=None):
    "The first day of the month the next billing run bills (the previous)"
    return month_start(today or dt.date.today(), 1)


def photos():
    "Return a few small JPEG photos of meter dials and their thumbnails"
    from PIL import Image, ImageDraw
    result = []
    for index in range(PHOTOS):
        image = Image.new('RGB', (320, 240), (230 - index * 20, 230, 220))
        draw = ImageDraw.Draw(image)
        draw.rectangle((40, 90, 280, 150), outline=(0, 0, 0), width=3)
        draw.text((60, 110), '%06d' % (index * 12345), fill=(0, 0, 0))
        photo, thumbnail = io.BytesIO(), io.BytesIO()
        image.save(photo, 'JPEG', quality=70)
        image.thumbnail((64, 48))
        image.save(thumbnail, 'JPEG', quality=70)
        result.append((photo.getvalue(), thumbnail.getvalue()))
    return result


def store_photos():
    "Store the photos in the filestore, return [(photo id, thumbnail id)]"
    from trytond.filestore import filestore
    ids = []
    for photo, thumbnail in photos():
        ids.append((
                filestore.set(photo, prefix='meter_reading'),
                filestore.set(thumbnail, prefix='meter_reading_thumbnail')))
    return ids


def _indexes(cursor, table):
    "Return the definitions of the secondary indexes of table (idx_…)"
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes "
        "WHERE tablename = %s AND indexname LIKE 'idx_%%'", (table,))
    return cursor.fetchall()


class Loading:
    "Drop the secondary indexes of tables for a load, build them after"

    def __init__(self, cursor, tables):
        self.cursor = cursor
        self.tables = tables

    def __enter__(self):
        self.definitions = []
        for table in self.tables:
            for name, definition in _indexes(self.cursor, table):
                self.cursor.execute(f'DROP INDEX "{name}"')
                self.definitions.append(definition)

    def __exit__(self, *exc):
        if exc[0] is None:
            for definition in self.definitions:
                self.cursor.execute(definition)


def populate_accounts(cursor, accounts):
    "Insert the campuses, accounts and meters; return the campus ids"
    cursor.execute(
        "INSERT INTO meter_campus (name, code, active, create_uid, "
        "create_date) SELECT '校区 ' || n, 'C' || n, true, 0, now() "
        "FROM generate_series(1, %s::int) AS n", (CAMPUSES,))
    cursor.execute("SELECT id FROM meter_campus ORDER BY code")
    campuses = [r[0] for r in cursor]
    cursor.execute(
        "INSERT INTO meter_account (number, name, category, billing_mode, "
        "campus, active, create_uid, create_date) "
        "SELECT 'A' || lpad(n::text, 6, '0'), '住户 ' || n, "
        "CASE n %% 10 WHEN 0 THEN 'unit' WHEN 5 THEN 'dormitory' "
        "ELSE 'resident' END, "
        "CASE WHEN n %% 7 = 0 THEN 'prepaid' ELSE 'postpaid' END, "
        "(%s::int[])[n %% %s + 1], true, 0, now() "
        "FROM generate_series(1, %s::int) AS n",
        (campuses, CAMPUSES, accounts))
    cursor.execute(
        "INSERT INTO meter_meter (number, kind, account, campus, "
        "reading_method, multiplier, digits, decimals, initial_value, "
        "state, create_uid, create_date) "
        "SELECT CASE k WHEN 1 THEN 'E' ELSE 'W' END || a.number, "
        "CASE k WHEN 1 THEN 'electricity' ELSE 'water' END, a.id, a.campus, "
        "'manual', 1, 6, 1, 0, 'active', 0, now() "
        "FROM meter_account AS a, generate_series(1, 2) AS k "
        "ORDER BY a.id, k")
    cursor.execute(
        "UPDATE meter_meter SET handheld_id = 'H' || lpad(id::text, 6, '0')")
    return campuses


# The monthly use of a meter, the same every month: 20 to 69 (kWh, m³)
USE = "(20 + m.id %% 50)"


def insert_readings(cursor, first_month, months, photo_ids, draft_months=2):
    """Insert one reading per meter and month for months months from the
    one of first_month (a date); the last draft_months months hold about
    1 % of drafts"""
    photo_case = ' '.join(
        "WHEN %d THEN '%s'" % (i, p) for i, (p, _) in enumerate(photo_ids))
    thumbnail_case = ' '.join(
        "WHEN %d THEN '%s'" % (i, t) for i, (_, t) in enumerate(photo_ids))
    sources = "(ARRAY[%s])[(m.id + i) %%%% %d + 1]" % (
        ', '.join("'%s'" % s for s in SOURCES), len(SOURCES))
    # The months' readings, each with its source and evidence
    cursor.execute(
        "INSERT INTO meter_reading (meter, taken_at, value, source, "
        "previous_value, previous_taken_at, consumption, rollover, "
        "anomalies, anomaly_count, state, photo_id, photo_thumbnail_id, "
        "photo_hash, evidence, ocr_digits, ocr_result, submitter, "
        "create_uid, create_date) "
        "SELECT m.id, t.taken_at, (t.i + 1) * " + USE + ", t.source, "
        "t.i * " + USE + ", "
        "CASE WHEN t.i > 0 THEN t.taken_at - interval '1 month' END, "
        + USE + ", false, "
        "CASE WHEN t.draft THEN '[\"high\"]'::jsonb ELSE '[]'::jsonb END, "
        "CASE WHEN t.draft THEN 1 ELSE 0 END, "
        "CASE WHEN t.draft THEN 'draft' ELSE 'confirmed' END, "
        "CASE WHEN t.photo THEN CASE m.id %% %s " + photo_case + " END END, "
        "CASE WHEN t.photo THEN CASE m.id %% %s " + thumbnail_case
        + " END END, "
        "CASE WHEN t.photo THEN md5(m.id::text || '-' || t.i) END, "
        "CASE WHEN t.photo THEN 'passed' ELSE 'none' END, "
        "CASE WHEN t.photo THEN ((t.i + 1) * " + USE + ")::text END, "
        "CASE WHEN t.photo THEN 'match' END, "
        "CASE WHEN t.source = 'self' THEN 'wechat' END, 0, now() "
        "FROM meter_meter AS m CROSS JOIN LATERAL ("
        "SELECT i, %s::timestamp + (i || ' months')::interval "
        "+ interval '8 hours' + (m.id %% 600) * interval '1 second' "
        "AS taken_at, " + sources + " AS source, "
        + sources + " IN ('self', 'field') AS photo, "
        "i >= %s::int - %s::int AND (m.id * 7 + i) %% 97 = 0 AS draft "
        "FROM generate_series(%s::int, %s::int) AS i) AS t "
        "ORDER BY t.i, m.id",
        (PHOTOS, PHOTOS, first_month, months, draft_months,
            0, months - 1))
    return cursor.rowcount


def insert_periods(cursor, first_month, months):
    "Insert one billing period per month, return {index: id}"
    cursor.execute(
        "INSERT INTO meter_billing_period (name, start_date, end_date, "
        "due_date, state, create_uid, create_date) "
        "SELECT to_char(d, 'YYYY-MM'), d, "
        "(d + interval '1 month' - interval '1 day')::date, "
        "(d + interval '1 month' + interval '14 days')::date, "
        "CASE WHEN i < %s::int - 1 THEN 'closed' ELSE 'open' END, 0, now() "
        "FROM generate_series(0, %s::int - 1) AS i, "
        "LATERAL (SELECT (%s::date + (i || ' months')::interval)::date AS d"
        ") AS s ORDER BY i RETURNING id",
        (months, months, first_month))
    return cursor.rowcount


def insert_bills(cursor, first_month, months):
    """Insert the bills of every month but the last with their usages,
    payments, allocations and prepaid ledger"""
    if months < 2:
        return 0
    # State by age: paid, but the last billed month mostly open and a
    # few arrears over the years
    cursor.execute(
        "INSERT INTO meter_bill (number, account, campus, category, "
        "billing_mode, period, start_date, end_date, due_date, posted_date, "
        "amount, paid_amount, state, create_uid, create_date) "
        "WITH p AS (SELECT p.*, "
        "row_number() OVER (ORDER BY p.start_date) - 1 AS i "
        "FROM meter_billing_period AS p WHERE p.start_date >= %s) "
        "SELECT 'B' || to_char(p.start_date, 'YYYYMM') || a.number, a.id, "
        "a.campus, a.category, a.billing_mode, p.id, p.start_date, "
        "p.end_date, p.due_date, p.end_date + 1, b.amount, "
        "CASE b.state WHEN 'paid' THEN b.amount "
        "WHEN 'partially_paid' THEN round(b.amount / 2, 2) ELSE 0 END, "
        "b.state, 0, now() "
        "FROM meter_account AS a CROSS JOIN p CROSS JOIN LATERAL (SELECT "
        "round((20 + (2 * a.id - 1) %% 50) * 0.55 "
        "+ (20 + (2 * a.id) %% 50) * 3.85, 2) AS amount, "
        "CASE WHEN p.i = %s::int - 2 THEN CASE a.id %% 20 "
        "WHEN 0 THEN 'partially_paid' WHEN 1 THEN 'paid' WHEN 2 THEN 'paid' "
        "WHEN 3 THEN 'paid' WHEN 4 THEN 'paid' ELSE 'posted' END "
        "WHEN (a.id + p.i) %% 331 = 0 THEN 'posted' "
        "ELSE 'paid' END AS state) AS b "
        "WHERE p.i < %s::int - 1 "
        "ORDER BY p.i, a.id",
        (first_month, months, months))
    count = cursor.rowcount
    cursor.execute(
        "INSERT INTO meter_bill_usage (bill, kind, usage, free_quantity, "
        "billable, amount, carry_out, tier_usage, create_uid, create_date) "
        "SELECT b.id, m.kind, 20 + m.id % 50, 0, 20 + m.id % 50, "
        "round((20 + m.id % 50) * CASE m.kind WHEN 'water' THEN 3.85 "
        "ELSE 0.55 END, 2), 0, 20 + m.id % 50, 0, now() "
        "FROM meter_bill AS b JOIN meter_meter AS m ON m.account = b.account "
        "ORDER BY b.id, m.id")
    # One payment per paid bill, with the bill's id
    cursor.execute(
        "INSERT INTO meter_payment (id, receipt_number, account, campus, "
        "date, method, amount, state, create_uid, create_date) "
        "SELECT b.id, 'R' || to_char(b.start_date, 'YYYYMM') "
        "|| lpad(b.id::text, 8, '0'), b.account, b.campus, "
        "b.due_date - (b.id % 12), "
        "(ARRAY['cash', 'transfer', 'cheque', 'transfer'])[b.id % 4 + 1], "
        "b.paid_amount, 'posted', 0, now() "
        "FROM meter_bill AS b WHERE b.paid_amount > 0 "
        "AND b.billing_mode = 'postpaid' ORDER BY b.id")
    cursor.execute(
        "SELECT setval('meter_payment_id_seq', "
        "(SELECT max(id) FROM meter_payment))")
    cursor.execute(
        "INSERT INTO meter_payment_allocation (payment, bill, amount, "
        "create_uid, create_date) "
        "SELECT p.id, p.id, p.amount, 0, now() FROM meter_payment AS p "
        "ORDER BY p.id")
    # Prepaid accounts: a top-up before each bill and its deduction
    cursor.execute(
        "INSERT INTO meter_prepaid_line (account, date, type, amount, bill, "
        "description, create_uid, create_date) "
        "SELECT b.account, CASE t WHEN 1 THEN b.start_date "
        "ELSE b.end_date + 1 END, "
        "CASE t WHEN 1 THEN 'topup' ELSE 'deduction' END, "
        "CASE t WHEN 1 THEN b.amount + 10 ELSE -b.amount END, "
        "CASE t WHEN 2 THEN b.id END, NULL, 0, now() "
        "FROM meter_bill AS b, generate_series(1, 2) AS t "
        "WHERE b.billing_mode = 'prepaid' ORDER BY b.id, t")
    # The balance the account stores: the sum of its ledger
    cursor.execute(
        "UPDATE meter_account AS a SET ledger_total = l.amount "
        "FROM (SELECT account, sum(amount) AS amount "
        "FROM meter_prepaid_line GROUP BY account) AS l "
        "WHERE a.id = l.account")
    return count


def insert_residents(cursor, first_month, months, orders=5):
    """Insert a WeChat user and its approved binding per account, and
    orders work orders per user over the months"""
    cursor.execute(
        "INSERT INTO meter_wechat_user (openid, phone, registered_at, "
        "blocked, create_uid, create_date) "
        "SELECT 'o-scale-' || a.id, '139' || lpad(a.id::text, 8, '0'), "
        "%s, false, 0, now() FROM meter_account AS a ORDER BY a.id",
        (first_month,))
    cursor.execute(
        "INSERT INTO meter_wechat_binding (\"user\", account, state, "
        "requested_at, reviewed_at, create_uid, create_date) "
        "SELECT u.id, a.id, 'approved', %s, %s, 0, now() "
        "FROM meter_wechat_user AS u "
        "JOIN meter_account AS a ON u.openid = 'o-scale-' || a.id",
        (first_month, first_month))
    cursor.execute(
        "INSERT INTO meter_work_order (number, kind, subject, description, "
        "requester, requester_phone, account, campus, wechat_user, "
        "submitted_at, deadline, replied_at, state, create_uid, "
        "create_date) "
        "SELECT 'WO' || lpad((u.id * %s::int + k)::text, 8, '0'), "
        "(ARRAY['repair', 'request', 'complaint', 'suggestion', "
        "'fault'])[k + 1], '报修 ' || k, '水龙头漏水', a.name, u.phone, "
        "a.id, a.campus, u.id, w.submitted_at, "
        "w.submitted_at + interval '2 hours', "
        "CASE WHEN NOT w.open THEN w.submitted_at + interval '1 hour' END, "
        "CASE WHEN w.open THEN 'open' ELSE 'done' END, 0, now() "
        "FROM meter_wechat_user AS u "
        "JOIN meter_account AS a ON u.openid = 'o-scale-' || a.id "
        "CROSS JOIN generate_series(0, %s::int - 1) AS k "
        "CROSS JOIN LATERAL (SELECT %s::timestamp "
        "+ ((k * %s::int * 30 / %s::int + u.id %% 29) || ' days')::interval "
        "+ interval '9 hours' AS submitted_at, "
        "k = %s::int - 1 AND u.id %% 10 = 0 AS open) AS w "
        "ORDER BY w.submitted_at",
        (orders, orders, first_month, months, orders, orders))
    return cursor.rowcount


BIG_TABLES = ['meter_reading', 'meter_bill', 'meter_bill_usage',
    'meter_payment', 'meter_payment_allocation', 'meter_prepaid_line',
    'meter_work_order', 'meter_wechat_binding', 'meter_wechat_user']


def generate(cursor, months, photo_ids, today=None, log=print):
    """Generate the history of months months of the accounts in the
    database (populate_accounts), return the counts of rows by table"""
    import time
    first = history_start(months, today)
    counts = {}
    with Loading(cursor, BIG_TABLES):
        for name, function, args in [
                ('meter_reading', insert_readings,
                    (cursor, first, months, photo_ids)),
                ('meter_billing_period', insert_periods,
                    (cursor, first, months)),
                ('meter_bill', insert_bills, (cursor, first, months)),
                ('meter_work_order', insert_residents,
                    (cursor, first, months)),
                ]:
            start = time.perf_counter()
            counts[name] = function(*args)
            log('%s: %s rows in %.1fs' % (
                    name, counts[name], time.perf_counter() - start))
        start = time.perf_counter()
    log('indexes built in %.1fs' % (time.perf_counter() - start))
    return counts

