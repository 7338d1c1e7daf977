"""The management centre: the dashboard's figures within the campus rules,
loss detection with prorated sub-meters, and the usage query's Excel and
PDF reports."""
import datetime as dt
import io
import unittest
from decimal import Decimal

import openpyxl

from trytond.exceptions import UserError
from trytond.modules.meter_base.configuration import to_utc
from trytond.modules.meter_field.dashboard import TREND_MONTHS, add_months
from trytond.modules.meter_field.loss import interpolate, period_use
from trytond.modules.meter_field.usage_report import UsageTable
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction


class ProrationTestCase(unittest.TestCase):
    "The use of a meter between two dates, prorated between readings"

    def test_interpolate(self):
        day = dt.datetime(2026, 3, 1)
        readings = [(day, Decimal(0)),
            (day + dt.timedelta(days=10), Decimal(100))]
        self.assertEqual(interpolate(readings, day + dt.timedelta(days=4)),
            (Decimal(40), True))
        self.assertEqual(interpolate(readings, day), (Decimal(0), True))
        # Outside the readings: the nearest one, not bracketed
        self.assertEqual(interpolate(readings, day - dt.timedelta(days=1)),
            (Decimal(0), False))
        self.assertEqual(interpolate(readings, day + dt.timedelta(days=11)),
            (Decimal(100), False))
        self.assertEqual(interpolate([], day), (None, False))

    def test_period_use(self):
        day = dt.datetime(2026, 3, 1)
        readings = [(day, Decimal(0)),
            (day + dt.timedelta(days=20), Decimal(200)),
            (day + dt.timedelta(days=40), Decimal(600))]
        use, complete = period_use(readings, day + dt.timedelta(days=10),
            day + dt.timedelta(days=30))
        # 100 left of the first interval, 200 of the second's 400
        self.assertEqual((use, complete), (Decimal(300), True))


def set_up():
    """East and west campuses; in the east a building whose main water
    meter M has sub-meters S1 and S2, and an account; in the west an
    account with a meter"""
    pool = Pool()
    Campus = pool.get('meter.campus')
    Location = pool.get('meter.location')
    Meter = pool.get('meter.meter')
    Account = pool.get('meter.account')
    Configuration = pool.get('meter.configuration')
    config = Configuration(1)
    config.ocr = False
    config.save()
    east = Campus(name="东校区", code='E')
    east.save()
    west = Campus(name="西校区", code='W')
    west.save()
    building = Location(name="1号楼", campus=east, loss_threshold=Decimal(8))
    building.save()
    west_building = Location(name="西1号楼", campus=west)
    west_building.save()
    east_account = Account(number='E1', name="东一", campus=east,
        category='resident', location=building)
    east_account.save()
    west_account = Account(number='W1', name="西一", campus=west,
        category='unit', location=west_building)
    west_account.save()
    values = dict(digits=6, decimals=0, multiplier=Decimal(1),
        initial_value=Decimal(0), reading_method='manual', kind='water')
    main = Meter(number='M', campus=east, location=building, **values)
    main.save()
    subs = Meter.create([
            dict(number='S1', campus=east, location=building,
                account=east_account, parent_meter=main.id, **values),
            dict(number='S2', campus=east, location=building,
                parent_meter=main.id, **values),
            dict(number='W-1', campus=west, location=west_building,
                account=west_account, **dict(values, kind='electricity')),
            ])
    return east, west, main, subs


def read(meter, value, taken_at):
    Reading = Pool().get('meter.reading')
    reading, = Reading.create([{
                'meter': meter.id, 'value': Decimal(value),
                'source': 'import', 'taken_at': taken_at}])
    if reading.state == 'draft':
        Reading.confirm([reading])
    return reading


def local(date, hour=0):
    zone = Pool().get('meter.configuration').tzinfo()
    return to_utc(dt.datetime.combine(date, dt.time(hour)), zone)


class DashboardTestCase(unittest.TestCase):
    "Test the management centre"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('meter_field')

    @with_transaction()
    def test_loss_prorated(self):
        "The main meter against its sub-meters read on other days"
        pool = Pool()
        Period = pool.get('meter.billing.period')
        Loss = pool.get('meter.loss')
        east, west, main, (s1, s2, _) = set_up()
        period, = Period.create([{'name': '2026-03',
                    'start_date': dt.date(2026, 3, 1),
                    'end_date': dt.date(2026, 3, 31)}])
        # The main meter read on the period's bounds: 1000 used
        read(main, 0, local(dt.date(2026, 3, 1)))
        read(main, 1000, local(dt.date(2026, 4, 1)))
        # S1 read on the 11th of both months: 10/day from Feb 11 to Mar 11,
        # 20/day from Mar 11 to Apr 11
        read(s1, 0, local(dt.date(2026, 2, 11)))
        read(s1, 280, local(dt.date(2026, 3, 11)))
        read(s1, 280 + 620, local(dt.date(2026, 4, 11)))
        # S2 read on the bounds: 300 used
        read(s2, 50, local(dt.date(2026, 3, 1)))
        read(s2, 350, local(dt.date(2026, 4, 1)))
        Loss.compute([period])
        loss, = Loss.search([])
        # S1 in March: the 10 days before the 11th at 10/day, then the 21
        # days after it at 20/day
        self.assertEqual(loss.sub_usage, Decimal('300') + Decimal(
                100 + 420))
        self.assertEqual(loss.main_usage, Decimal(1000))
        self.assertEqual(loss.difference, Decimal(180))
        self.assertEqual(loss.share, Decimal('18.00'))
        # The building's threshold is 8 %
        self.assertEqual(loss.threshold, Decimal(8))
        self.assertTrue(loss.flagged)
        self.assertTrue(loss.complete)
        self.assertEqual(loss.location, main.location)

        # Computed again: replaced, not added
        main.location.loss_threshold = Decimal(20)
        main.location.save()
        Loss.compute([period])
        loss, = Loss.search([])
        self.assertFalse(loss.flagged)

    @with_transaction()
    def test_loss_cron(self):
        "The cron computes the last closed period once: again changes nothing"
        pool = Pool()
        Period = pool.get('meter.billing.period')
        Loss = pool.get('meter.loss')
        Cron = pool.get('ir.cron')
        east, west, main, (s1, s2, _) = set_up()
        march, april = Period.create([{'name': '2026-03',
                    'start_date': dt.date(2026, 3, 1),
                    'end_date': dt.date(2026, 3, 31)}, {'name': '2026-04',
                    'start_date': dt.date(2026, 4, 1),
                    'end_date': dt.date(2026, 4, 30)}])
        read(main, 0, local(dt.date(2026, 3, 1)))
        read(main, 1000, local(dt.date(2026, 4, 1)))
        read(main, 1500, local(dt.date(2026, 5, 1)))
        for meter, values in [(s1, (0, 400, 800)), (s2, (0, 500, 600))]:
            read(meter, values[0], local(dt.date(2026, 3, 1)))
            read(meter, values[1], local(dt.date(2026, 4, 1)))
            read(meter, values[2], local(dt.date(2026, 5, 1)))
        # Nothing closed: nothing computed
        self.assertEqual(Loss.compute_closed(), [])
        self.assertEqual(Loss.search([]), [])
        Period.close([march])
        cron, = Cron.search([('method', '=', 'meter.loss|compute_closed')])
        Cron.run_once([cron])
        loss, = Loss.search([])
        self.assertEqual((loss.period, loss.main_usage, loss.sub_usage,
                loss.difference), (march, Decimal(1000), Decimal(900),
                Decimal(100)))
        # Again: the same row, not written
        before = Loss.read([loss.id], ['write_date', 'create_date'])
        Cron.run_once([cron])
        self.assertEqual(Loss.search([]), [loss])
        self.assertEqual(
            Loss.read([loss.id], ['write_date', 'create_date']), before)
        # April closed: its losses are the last closed period's, March's
        # stay
        Period.close([april])
        Loss.compute_closed()
        self.assertEqual(
            {(l.period, l.difference) for l in Loss.search([])},
            {(march, Decimal(100)), (april, Decimal(0))})
        # The building's threshold changed: the row is updated in place
        april_loss, = Loss.search([('period', '=', april.id)])
        self.assertEqual(april_loss.threshold, Decimal(8))
        main.location.loss_threshold = Decimal(3)
        main.location.save()
        Loss.compute_closed()
        self.assertEqual(Loss(april_loss.id).threshold, Decimal(3))
        self.assertEqual(len(Loss.search([])), 2)

    @with_transaction()
    def test_loss_incomplete(self):
        "A period past the last readings is computed but not complete"
        pool = Pool()
        Period = pool.get('meter.billing.period')
        Loss = pool.get('meter.loss')
        east, west, main, (s1, s2, _) = set_up()
        period, = Period.create([{'name': '2026-05',
                    'start_date': dt.date(2026, 5, 1),
                    'end_date': dt.date(2026, 5, 31)}])
        read(main, 0, local(dt.date(2026, 5, 1)))
        read(s1, 0, local(dt.date(2026, 5, 1)))
        Loss.compute([period])
        loss, = Loss.search([])
        self.assertFalse(loss.complete)
        self.assertEqual(loss.main_usage, Decimal(0))
        self.assertFalse(loss.flagged)

    @with_transaction()
    def test_parent_meter_rules(self):
        "A main meter of another kind, or a cycle, is refused"
        pool = Pool()
        Meter = pool.get('meter.meter')
        east, west, main, (s1, s2, w1) = set_up()
        with self.assertRaises(UserError):
            main.parent_meter = s1
            main.save()
        main = Meter(main.id)
        with self.assertRaises(UserError):
            Meter.write([w1], {'parent_meter': main.id})

    @with_transaction()
    def test_figures(self):
        "The board's figures: coverage, consumption, arrears, collections"
        pool = Pool()
        Dashboard = pool.get('meter.dashboard')
        Meter = pool.get('meter.meter')
        Bill = pool.get('meter.bill')
        Payment = pool.get('meter.payment')
        Reading = pool.get('meter.reading')
        Period = pool.get('meter.billing.period')
        east, west, main, (s1, s2, w1) = set_up()
        Meter.write([main, s1, s2, w1], {'state': 'active'})
        today = dt.date.today()
        first = dt.date(today.year, today.month, 1)
        # Read this month: S1 twice (counted once) and W-1; M and S2 not
        read(s1, 10, local(first, 9))
        read(s1, 25, local(first, 10))
        read(w1, 40, local(first, 9))
        # A reading waiting with an anomaly in the west
        waiting, = Reading.create([{'meter': w1.id, 'value': Decimal(5),
                    'source': 'import', 'taken_at': local(first, 11)}])
        self.assertEqual(waiting.state, 'draft')

        figures = Dashboard.figures()
        coverage = {(r['campus'], r['kind']): (r['meters'], r['read_meters'],
                r['unread']) for r in figures['coverage']}
        self.assertEqual(coverage[east.id, 'water'], (3, 1, 2))
        self.assertEqual(coverage[west.id, 'electricity'], (1, 1, 0))
        consumption = {r['campus']: r for r in figures['consumption']}
        self.assertEqual(consumption[east.id]['water'], Decimal(25))
        self.assertEqual(consumption[west.id]['electricity'], Decimal(40))
        self.assertEqual(consumption[west.id]['water'], Decimal(0))
        top = figures['top_consumers']
        self.assertEqual([(r['account'], r['usage']) for r in top],
            [(w1.account.id, Decimal(40)), (s1.account.id, Decimal(25))])
        waiting = {(r['campus'], r['item']): r['count']
            for r in figures['waiting']}
        self.assertEqual(waiting, {(west.id, 'anomaly'): 1})

        # A bill 45 days past due, partly paid, and a cash payment
        period, = Period.create([{'name': 'P',
                    'start_date': today - dt.timedelta(days=80),
                    'end_date': today - dt.timedelta(days=50)}])
        bill, = Bill.create([{'account': w1.account.id, 'period': period.id,
                    'campus': west.id, 'category': 'unit',
                    'start_date': today - dt.timedelta(days=80),
                    'end_date': today - dt.timedelta(days=50),
                    'due_date': today - dt.timedelta(days=45)}])
        Bill.write([bill], {'state': 'partially_paid',
                'amount': Decimal('120.50'), 'paid_amount': Decimal('20.00')})
        payment, = Payment.create([{'account': w1.account.id,
                    'campus': west.id, 'date': today, 'method': 'cash',
                    'amount': Decimal('20.00')}])
        Payment.write([payment], {'state': 'posted'})
        figures = Dashboard.figures(campus=west.id)
        self.assertEqual([(r['age'], r['bills'], r['amount'])
                for r in figures['arrears']],
            [('31_60', 1, Decimal('100.50'))])
        self.assertEqual([(r['cash'], r['transfer'], r['amount'])
                for r in figures['collections']],
            [(Decimal('20.00'), Decimal(0), Decimal('20.00'))])
        # The charts' axes show the selections' texts
        Arrears = pool.get('meter.dashboard.arrears')
        Waiting = pool.get('meter.dashboard.waiting')
        self.assertEqual([a.age_name for a in Arrears.search([])],
            ["31-60 Days"])
        self.assertEqual([w.item_name for w in Waiting.search([])],
            ["Readings with Anomalies"])
        WorkOrder = pool.get('meter.work_order')
        Orders = pool.get('meter.dashboard.work_order')
        WorkOrder.create([{'kind': 'repair', 'subject': "漏水",
                    'campus': east.id}])
        order, = Orders.search([])
        self.assertEqual((order.state_name, order.orders, order.overdue),
            ("Open", 1, 0))
        # The east's figures hold nothing of the west
        east_figures = Dashboard.figures(campus=east)
        self.assertFalse(east_figures['arrears'])
        self.assertTrue(all(r['campus'] == east.id
                for r in east_figures['coverage']))

    @with_transaction()
    def test_year_of_use(self):
        """The trend's months and the top consumers' year are counted on
        the centre's clock: a reading at midnight opens its month, one a
        minute before closes the previous; the year before is left out"""
        pool = Pool()
        Dashboard = pool.get('meter.dashboard')
        Consumption = pool.get('meter.dashboard.consumption')
        Meter = pool.get('meter.meter')
        east, west, main, (s1, s2, w1) = set_up()
        Meter.write([s1, w1], {'state': 'active'})
        today = dt.date.today()
        first = dt.date(today.year, today.month, 1)
        year_ago = add_months(first, -TREND_MONTHS)
        window = add_months(first, -(TREND_MONTHS - 1))
        minute = dt.timedelta(minutes=1)
        read(s1, 2, local(year_ago, 12))
        read(w1, 100, local(window) - minute)
        opening = read(w1, 110, local(window))
        closing = read(w1, 130, local(first) - minute)
        current = read(w1, 160, local(first))
        water = read(s1, 9, local(first, 8))

        rows = [(r.campus, r.month, r.electricity, r.water, r.readings, r.id)
            for r in Consumption.search([])]
        self.assertEqual(rows, [
                (west, window, Decimal(10), Decimal(0), 1, opening.id),
                (west, add_months(first, -1), Decimal(20), Decimal(0), 1,
                    closing.id),
                (east, first, Decimal(0), Decimal(7), 1, water.id),
                (west, first, Decimal(30), Decimal(0), 1, current.id),
                ])
        top = Dashboard.figures()['top_consumers']
        self.assertEqual(
            [(r['account'], r['kind'], r['usage'], r['id']) for r in top],
            [(w1.account.id, 'electricity', Decimal(60), opening.id),
                (s1.account.id, 'water', Decimal(7), water.id)])

    @with_transaction()
    def test_stored_use(self):
        """The use the board keeps stored is the readings' through every
        change: readings created, corrected, confirmed, backdated,
        imported in bulk before later ones, meters moved; a board of
        another month reads the readings"""
        pool = Pool()
        Dashboard = pool.get('meter.dashboard')
        Meter = pool.get('meter.meter')
        Reading = pool.get('meter.reading')
        Account = pool.get('meter.account')
        AccountUsage = pool.get('meter.dashboard.account_usage')
        Configuration = pool.get('meter.configuration')
        Cron = pool.get('ir.cron')
        Date = pool.get('ir.date')
        east, west, main, (s1, s2, w1) = set_up()
        Meter.write([main, s1, s2, w1], {'state': 'active'})
        first = Date.today().replace(day=1)
        read(s1, 10, local(add_months(first, -3), 9))
        read(w1, 40, local(add_months(first, -2), 9))
        read(s1, 25, local(first, 9))
        # Before the window: not counted
        read(s2, 3, local(add_months(first, -TREND_MONTHS), 9))

        def figures(**context):
            with Transaction().set_context(**context):
                result = Dashboard.figures()
            return (sorted((r['campus'], r['month'], r['electricity'],
                        r['water'], r['hot_water'])
                    for r in result['consumption']),
                sorted((r['account'], r['kind'], r['usage'])
                    for r in result['top_consumers']))

        def check():
            stored = figures()
            self.assertEqual(stored, figures(dashboard_live=True))
            return stored

        self.assertFalse(AccountUsage.search([]))
        # Computed by the daily cron
        cron, = Cron.search([('method', '=', 'meter.dashboard|refresh_usage')])
        Cron.run_once([cron])
        self.assertEqual(Configuration(1).dashboard_since,
            add_months(first, -(TREND_MONTHS - 1)))
        consumption, top = check()
        self.assertEqual(top, sorted([(s1.account.id, 'water', Decimal(25)),
                    (w1.account.id, 'electricity', Decimal(40))]))

        # A new reading, confirmed on creation; one lower than the last,
        # left for review, then corrected and confirmed
        read(w1, 70, local(add_months(first, -1), 9))
        lower, = Reading.create([{'meter': s1.id, 'value': Decimal(5),
                    'source': 'import', 'taken_at': local(first, 10)}])
        self.assertEqual(lower.state, 'draft')
        check()
        Reading.write([lower], {'value': Decimal(31)})
        Reading.confirm([lower])
        consumption, top = check()
        self.assertIn((s1.account.id, 'water', Decimal(31)), top)

        # A reading before the others changes the next one's use; moved to
        # another month, it moves its use
        backdated = read(w1, 30, local(add_months(first, -5), 9))
        consumption, top = check()
        self.assertIn((w1.account.id, 'electricity', Decimal(70)), top)
        Reading.write([backdated], {'taken_at': local(
                    add_months(first, -2), 8)})
        consumption, top = check()
        self.assertIn((west.id, add_months(first, -2), Decimal(40),
                Decimal(0), Decimal(0)), consumption)

        # An import: a reading before a stored one (whose use is computed
        # again), a meter without use so far, a duplicate
        w2, = Meter.create([{'number': 'W-2', 'campus': west.id,
                    'account': w1.account.id, 'kind': 'water',
                    'digits': 6, 'decimals': 0, 'multiplier': Decimal(1),
                    'initial_value': Decimal(0), 'reading_method': 'manual',
                    'state': 'active'}])
        result = Reading.create_bulk([
                (1, s1.id, local(add_months(first, -1), 9), Decimal(20)),
                (2, w2.id, local(first, 9), Decimal(8)),
                (3, w1.id, local(add_months(first, -1), 9), Decimal(70)),
                ], 'import')
        self.assertEqual((result.created, result.duplicate_count), (2, 1))
        consumption, top = check()
        self.assertIn((w1.account.id, 'water', Decimal(8)), top)

        # Meters moved: to another account, to another campus and kind
        other, = Account.create([{'number': 'E2', 'name': "东二",
                    'campus': east.id, 'category': 'unit'}])
        Meter.write([s1], {'account': other.id})
        consumption, top = check()
        self.assertIn((other.id, 'water', Decimal(31)), top)
        Meter.write([w2], {'campus': east.id, 'account': other.id,
                'kind': 'hot_water'})
        consumption, top = check()
        self.assertIn((other.id, 'hot_water', Decimal(8)), top)
        self.assertEqual([r[4] for r in consumption
                if r[:2] == (east.id, first)], [Decimal(8)])

        # The board of another month reads the readings
        before = add_months(first, -1)
        self.assertEqual(figures(date=before),
            figures(date=before, dashboard_live=True))
        self.assertNotEqual(figures(date=before), figures())

    @with_transaction()
    def test_stored_use_deferred(self):
        """A call that tells its readings' changes itself defers those made
        inside it in its transaction only: a task queued inside (the
        evidence of a photo, run by a worker) carries nothing of it in its
        context and tells its own"""
        from trytond.modules.meter_field import dashboard_usage
        transaction = Transaction()
        context = dict(transaction.context)
        with dashboard_usage.deferring():
            self.assertTrue(dashboard_usage.deferred())
            self.assertEqual(dict(transaction.context), context)
            with transaction.new_transaction():
                self.assertFalse(dashboard_usage.deferred())
            self.assertTrue(dashboard_usage.deferred())
        self.assertFalse(dashboard_usage.deferred())

    @with_transaction()
    def test_campus_rules(self):
        "Finance staff of the east see the east's figures only"
        pool = Pool()
        Dashboard = pool.get('meter.dashboard')
        Meter = pool.get('meter.meter')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        east, west, main, (s1, s2, w1) = set_up()
        Meter.write([main, s1, s2, w1], {'state': 'active'})
        user, = User.create([{'login': 'finance-east', 'name': "财务东",
                    'groups': [('add', [ModelData.get_id(
                                    'meter_base', 'group_finance')])],
                    'meter_campuses': [('add', [east.id])]}])
        with Transaction().set_user(user.id), \
                Transaction().set_context(_check_access=True):
            figures = Dashboard.figures()
        self.assertEqual({r['campus'] for r in figures['coverage']},
            {east.id})

    @with_transaction()
    def test_binding_cutoff(self):
        "A binding waits beyond one working day from the day after next"
        Waiting = Pool().get('meter.dashboard.waiting')
        # Wednesday 2026-03-11: the last working day before is Tuesday
        with Transaction().set_context(date=dt.date(2026, 3, 11)):
            cutoff = Waiting.binding_cutoff()
        self.assertEqual(cutoff, local(dt.date(2026, 3, 10)))
        # Monday 2026-03-16: the Friday before
        with Transaction().set_context(date=dt.date(2026, 3, 16)):
            cutoff = Waiting.binding_cutoff()
        self.assertEqual(cutoff, local(dt.date(2026, 3, 13)))

    @with_transaction()
    def test_usage_reports(self):
        "The usage query in Excel with its chart, and as a PDF"
        pool = Pool()
        Usage = pool.get('meter.usage')
        Bill = pool.get('meter.bill')
        BillMeter = pool.get('meter.bill.meter')
        Period = pool.get('meter.billing.period')
        Excel = pool.get('meter.usage.xlsx', type='report')
        PDF = pool.get('meter.usage.pdf', type='report')
        east, west, main, (s1, s2, w1) = set_up()
        periods = Period.create([{'name': name, 'start_date': start,
                    'end_date': end} for name, start, end in [
                    ('2026-03', dt.date(2026, 3, 1), dt.date(2026, 3, 31)),
                    ('2026-04', dt.date(2026, 4, 1), dt.date(2026, 4, 30))]])
        for period, usage in zip(periods, [Decimal(12), Decimal(30)]):
            bill, = Bill.create([{'account': s1.account.id,
                        'campus': east.id, 'category': 'resident',
                        'period': period.id,
                        'start_date': period.start_date,
                        'end_date': period.end_date}])
            BillMeter.create([{'bill': bill.id, 'meter': s1.id,
                        'kind': 'water', 'usage': usage}])
        rows = Usage.search([])
        self.assertEqual([(r.period.name, r.usage, r.accounts) for r in rows],
            [('2026-04', Decimal(30), 1), ('2026-03', Decimal(12), 1)])

        ext, content, _, name = Excel.execute([r.id for r in rows], {})
        self.assertEqual(ext, 'xlsx')
        book = openpyxl.load_workbook(io.BytesIO(content))
        sheet, totals = book.worksheets
        self.assertEqual([sheet.cell(row=r, column=8).value
                for r in (3, 4)], [12, 30])
        self.assertEqual(totals.cell(row=2, column=2).value, 12)
        self.assertEqual(len(totals._charts), 1)

        ext, content, _, name = PDF.execute([r.id for r in rows], {})
        self.assertEqual(ext, 'pdf')
        self.assertTrue(bytes(content).startswith(b'%PDF'))

        with self.assertRaises(UserError):
            Excel.execute([], {})

    @with_transaction()
    def test_usage_unbilled(self):
        "The open period's confirmed readings not yet billed are counted"
        pool = Pool()
        Usage = pool.get('meter.usage')
        Bill = pool.get('meter.bill')
        BillMeter = pool.get('meter.bill.meter')
        Period = pool.get('meter.billing.period')
        Meter = pool.get('meter.meter')
        Excel = pool.get('meter.usage.xlsx', type='report')
        PDF = pool.get('meter.usage.pdf', type='report')
        east, west, main, (s1, s2, w1) = set_up()
        Meter.write([s1, s2, w1], {'state': 'active'})
        today = dt.date.today()
        first = dt.date(today.year, today.month, 1)
        last_month = (first - dt.timedelta(days=1)).replace(day=1)
        billed, current = Period.create([{'name': 'last',
                    'start_date': last_month,
                    'end_date': first - dt.timedelta(days=1)}, {
                    'name': 'current', 'start_date': first,
                    'end_date': (first + dt.timedelta(days=32)).replace(
                        day=1) - dt.timedelta(days=1)}])
        Period.close([billed])
        # Last month billed: 12 on S1
        bill, = Bill.create([{'account': s1.account.id,
                    'campus': east.id, 'category': 'resident',
                    'period': billed.id, 'start_date': billed.start_date,
                    'end_date': billed.end_date}])
        BillMeter.create([{'bill': bill.id, 'meter': s1.id,
                    'kind': 'water', 'usage': Decimal(12)}])
        # This month: S1 used 7 and W-1 40, S2 20 (no account), a draft
        # reading and last month's reading left out
        read(s1, 5, local(last_month, 10))
        read(s1, 12, local(first, 9))
        read(s2, 20, local(first, 9))
        read(w1, 40, local(first, 10))
        # The main meter over S1 and S2: its use is theirs again
        read(main, 27, local(first, 11))
        rows = {(r.period.name, r.campus, r.category, r.kind, r.billing):
            (r.usage, r.accounts, r.meters) for r in Usage.search([])}
        self.assertEqual(rows, {
                ('last', east, 'resident', 'water', 'billed'): (
                    Decimal(12), 1, 1),
                ('current', east, 'resident', 'water', 'unbilled'): (
                    Decimal(7), 1, 1),
                ('current', east, None, 'water', 'unbilled'): (
                    Decimal(20), 0, 1),
                ('current', west, 'unit', 'electricity', 'unbilled'): (
                    Decimal(40), 1, 1),
                })
        # W-1 billed this month: its readings are no longer counted
        bill, = Bill.create([{'account': w1.account.id,
                    'campus': west.id, 'category': 'unit',
                    'period': current.id, 'start_date': current.start_date,
                    'end_date': current.end_date}])
        BillMeter.create([{'bill': bill.id, 'meter': w1.id,
                    'kind': 'electricity', 'usage': Decimal(40)}])
        rows = {(r.period.name, r.kind, r.billing): r.usage
            for r in Usage.search([]) if r.category}
        self.assertEqual(rows, {
                ('last', 'water', 'billed'): Decimal(12),
                ('current', 'water', 'unbilled'): Decimal(7),
                ('current', 'electricity', 'billed'): Decimal(40),
                })
        # The period closed: nothing unbilled shown any more
        Period.close([current])
        self.assertEqual(
            {r.billing for r in Usage.search([])}, {'billed'})
        Period.reopen([current])

        # The exports mark them
        records = Usage.search([])
        _, content, _, _ = Excel.execute([r.id for r in records], {})
        sheet = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
        marks = {(sheet.cell(row=r, column=1).value,
                sheet.cell(row=r, column=8).value):
            sheet.cell(row=r, column=9).value for r in range(3, 7)}
        self.assertEqual(marks[('current', 7)], "Not Yet Billed")
        self.assertEqual(marks[('current', 20)], "Not Yet Billed")
        self.assertEqual(marks[('last', 12)], "Billed")
        table = UsageTable(records)
        periods = [row[0] for row in table.marked_rows()]
        self.assertEqual(periods.count("current (Not Yet Billed)"), 2)
        self.assertIn("last", periods)
        ext, content, _, _ = PDF.execute([r.id for r in records], {})
        self.assertTrue(bytes(content).startswith(b'%PDF'))
