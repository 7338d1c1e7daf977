"""Reading rounds (抄表任务): filling, the readings that read their lines,
skips, states and closing, the staff report, the unread list in Excel,
and the staff's round pages."""
import datetime as dt
import io
import unittest
from decimal import Decimal

import openpyxl
from PIL import Image

from trytond.modules.meter_base.configuration import to_utc
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    DB_NAME, activate_module, with_transaction)
from trytond.transaction import Transaction

from .tools import CSRF, PASSWORD, FieldTestCase


def image(color=(200, 30, 30)):
    data = io.BytesIO()
    Image.new('RGB', (640, 480), color).save(data, 'JPEG')
    return data.getvalue()


def set_up_campus(configure=True):
    """An east campus with building 1 (its floor 2 under it) and building
    2, a west campus; meters E-101, E-102 (floor 2), E-103 (water) in
    building 1, E-201 in building 2, W-1 in the west; two staff users"""
    pool = Pool()
    Campus = pool.get('meter.campus')
    Location = pool.get('meter.location')
    Meter = pool.get('meter.meter')
    User = pool.get('res.user')
    ModelData = pool.get('ir.model.data')
    Configuration = pool.get('meter.configuration')
    if configure:
        config = Configuration(1)
        config.ocr = False
        config.save()
    east = Campus(name="东校区", code='E')
    east.save()
    west = Campus(name="西校区", code='W')
    west.save()
    one = Location(name="1号楼", campus=east)
    one.save()
    floor = Location(name="1号楼二层", campus=east, parent=one)
    floor.save()
    two = Location(name="2号楼", campus=east)
    two.save()
    west_one = Location(name="西1号楼", campus=west)
    west_one.save()
    for number, kind, campus, location in [
            ('E-102', 'electricity', east, floor),
            ('E-101', 'electricity', east, one),
            ('E-103', 'water', east, one),
            ('E-201', 'electricity', east, two),
            ('W-1', 'electricity', west, west_one)]:
        Meter(number=number, kind=kind, campus=campus, location=location,
            digits=6, decimals=0, multiplier=Decimal(1),
            initial_value=Decimal(100), reading_method='manual').save()
    group = ModelData.get_id('meter_base', 'group_field_staff')
    User.create([{
                'login': login, 'name': name, 'password': PASSWORD,
                'groups': [('add', [group])],
                'meter_campuses': [('add', [east.id])],
                } for login, name in [
                ('field1', "外线一号"), ('field2', "外线二号")]])
    return east, one


def meters(*numbers):
    Meter = Pool().get('meter.meter')
    found = {m.number: m for m in Meter.search([('number', 'in', numbers)])}
    return [found[n] for n in numbers]


def staff(login):
    User = Pool().get('res.user')
    user, = User.search([('login', '=', login)])
    return user


def this_month():
    Date = Pool().get('ir.date')
    today = Date.today()
    start = today.replace(day=1)
    end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(
        days=1)
    return start, end


def make_round(login='field1', numbers=('E-101', 'E-102', 'E-103'),
        name="1号楼"):
    pool = Pool()
    Round = pool.get('meter.field.round')
    Campus = pool.get('meter.campus')
    east, = Campus.search([('code', '=', 'E')])
    start, end = this_month()
    round_, = Round.create([{
                'staff': staff(login).id, 'campus': east.id,
                'start_date': start, 'end_date': end, 'name': name}])
    Round.fill([round_], meters(*numbers))
    return Round(round_.id)


def read(number, value, user=None, taken_at=None, photo=None):
    Reading = Pool().get('meter.reading')
    meter, = meters(number)
    reading, = Reading.create([{
                'meter': meter.id, 'value': Decimal(value),
                'source': 'field', 'reader': user.id if user else None,
                'taken_at': taken_at or dt.datetime.now().replace(
                    microsecond=0) - dt.timedelta(minutes=1),
                'photo': photo,
                }])
    return reading


class RoundTestCase(unittest.TestCase):
    "Test the reading rounds"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('meter_field')

    @with_transaction()
    def test_fill_by_building_in_route_order(self):
        "The wizard's meters: the building and the places under it, ordered"
        pool = Pool()
        Round = pool.get('meter.field.round')
        Meter = pool.get('meter.meter')
        east, one = set_up_campus()
        start, end = this_month()
        round_, = Round.create([{
                    'staff': staff('field1').id, 'campus': east.id,
                    'start_date': start, 'end_date': end}])
        found = Meter.search(Round.meter_domain(east, one),
            order=Round.route_order())
        Round.fill([round_], found)
        round_ = Round(round_.id)
        self.assertEqual([(l.sequence, l.meter.number) for l in round_.lines],
            [(1, 'E-101'), (2, 'E-103'), (3, 'E-102')])
        self.assertEqual(round_.progress, '0/3')
        self.assertEqual(round_.state, 'planned')

        # Again, with the electricity meters of the campus: only new ones
        Round.fill([round_], Meter.search(
                Round.meter_domain(east, kind='electricity'),
                order=Round.route_order()))
        round_ = Round(round_.id)
        self.assertEqual([l.meter.number for l in round_.lines],
            ['E-101', 'E-103', 'E-102', 'E-201'])

        from trytond.modules.meter_field.exceptions import RoundError
        with self.assertRaises(RoundError):
            Round.fill([round_], meters('W-1'))

    @with_transaction()
    def test_reading_reads_its_line(self):
        "A reading of the period, by anyone, reads the line; rejected, not"
        pool = Pool()
        Reading = pool.get('meter.reading')
        Round = pool.get('meter.field.round')
        set_up_campus()
        round_ = make_round()
        field2 = staff('field2')

        # Before the period: nothing
        start, _ = this_month()
        read('E-101', 110, taken_at=to_utc(dt.datetime.combine(
                    start, dt.time()), dt.timezone(dt.timedelta(hours=8)))
            - dt.timedelta(hours=1))
        round_ = Round(round_.id)
        self.assertEqual(round_.read_count, 0)
        self.assertEqual(round_.state, 'planned')

        reading = read('E-101', 120, user=field2)
        round_ = Round(round_.id)
        line = round_.lines[0]
        self.assertEqual(line.state, 'read')
        self.assertEqual(line.reading, reading)
        self.assertEqual(line.reader, field2)
        self.assertEqual(round_.progress, '1/3')
        # The first reading started the round
        self.assertEqual(round_.state, 'in_progress')
        self.assertTrue(round_.started_at)

        Reading.draft([reading])
        Reading.do_reject([reading], "照片不清")
        self.assertEqual(Reading(reading.id).state, 'rejected')
        round_ = Round(round_.id)
        self.assertEqual(round_.lines[0].state, 'to_read')
        self.assertIsNone(round_.lines[0].reading)

        # Every meter read: the round is done
        for number in ['E-101', 'E-102', 'E-103']:
            read(number, 130)
        round_ = Round(round_.id)
        self.assertEqual(round_.progress, '3/3')
        self.assertEqual(round_.state, 'done')

    @with_transaction()
    def test_readings_before_the_round(self):
        "A round made after a reading of its period has it read at once"
        set_up_campus()
        reading = read('E-102', 150)
        round_ = make_round()
        lines = {l.meter.number: l for l in round_.lines}
        self.assertEqual(lines['E-102'].reading, reading)
        self.assertEqual(lines['E-101'].state, 'to_read')

    @with_transaction()
    def test_skip_rules(self):
        "A skip needs a known reason, a note for other, a line not read"
        pool = Pool()
        Line = pool.get('meter.field.round.line')
        Round = pool.get('meter.field.round')
        from trytond.modules.meter_field.exceptions import RoundError
        set_up_campus()
        round_ = make_round()
        first, second, third = round_.lines
        with self.assertRaises(RoundError):
            Line.skip([first], 'lost')
        with self.assertRaises(RoundError):
            Line.skip([first], 'other', '  ')
        with self.assertRaises(RoundError):
            Line.skip([first], 'other', 'x' * 201)
        read('E-101', 120)
        with self.assertRaises(RoundError):
            Line.skip([Line(first.id)], 'nobody_home')

        with Transaction().set_user(staff('field1').id):
            Line.skip([second], 'other', "门卫不让进")
            Line.skip([third], 'blocked')
        second, third = Line(second.id), Line(third.id)
        self.assertEqual((second.state, second.skip_reason, second.skip_note),
            ('skipped', 'other', "门卫不让进"))
        self.assertEqual(second.skipped_by, staff('field1'))
        self.assertTrue(second.skipped_at)
        # Nothing left to read: done
        self.assertEqual(Round(round_.id).state, 'done')

        # Read after all: the reading wins over the skip
        read('E-103', 140)
        self.assertEqual(Line(third.id).state, 'read')

        Line.reset([second])
        second = Line(second.id)
        self.assertEqual((second.state, second.skip_reason), ('to_read', None))
        self.assertEqual(Round(round_.id).state, 'in_progress')

    @with_transaction()
    def test_close(self):
        "Closing records who, when and the notes, and freezes the lines"
        pool = Pool()
        Round = pool.get('meter.field.round')
        Line = pool.get('meter.field.round.line')
        from trytond.modules.meter_field.exceptions import RoundError
        set_up_campus()
        round_ = make_round()
        field1 = staff('field1')
        with Transaction().set_user(field1.id):
            Round.close_with_notes(round_, " 2号门锁坏 ")
        round_ = Round(round_.id)
        self.assertEqual(round_.state, 'closed')
        self.assertEqual(round_.closed_by, field1)
        self.assertTrue(round_.closed_at)
        self.assertTrue(round_.started_at)
        self.assertEqual(round_.notes, "2号门锁坏")

        # A reading after closing leaves the closed round as it was
        read('E-101', 120)
        self.assertEqual(Round(round_.id).read_count, 0)
        with self.assertRaises(RoundError):
            Line.skip([round_.lines[1]], 'broken')
        with self.assertRaises(RoundError):
            Round.keep_notes(round_, "late")
        with self.assertRaises(RoundError):
            Round.delete([round_])

        Round.reopen([round_])
        round_ = Round(round_.id)
        self.assertEqual(round_.state, 'in_progress')
        self.assertIsNone(round_.closed_by)
        self.assertEqual(round_.read_count, 1)

    @with_transaction()
    def test_staff_report(self):
        "Assigned, read, skipped by reason, evidence failed, time on site"
        pool = Pool()
        Line = pool.get('meter.field.round.line')
        Reading = pool.get('meter.reading')
        Report = pool.get('meter.field.staff_report')
        Configuration = pool.get('meter.configuration')
        set_up_campus()
        zone = Configuration.tzinfo()
        field1, field2 = staff('field1'), staff('field2')
        round_ = make_round(numbers=('E-101', 'E-102', 'E-103', 'E-201'))
        make_round('field2', numbers=('E-201',))
        start, _ = this_month()

        def at(day, hour, minute=0):
            return to_utc(dt.datetime.combine(start + dt.timedelta(days=day),
                    dt.time(hour, minute)), zone)
        first = read('E-101', 120, user=field1, taken_at=at(0, 9))
        read('E-102', 130, user=field1, taken_at=at(0, 11, 30))
        # By another member of staff: read, not by field1
        read('E-103', 140, user=field2, taken_at=at(0, 10))
        Reading.write([first], {'evidence': 'failed'})
        lines = {l.meter.number: l for l in round_.lines}
        Line.skip([lines['E-201']], 'no_access')

        report, = Report.search([('staff', '=', field1.id)])
        self.assertEqual(
            (report.assigned, report.read_meters, report.read_by_staff,
                report.to_read, report.skipped, report.skipped_no_access,
                report.skipped_broken, report.evidence_failed),
            (4, 3, 2, 0, 1, 1, 0, 1))
        # 09:00 to 11:30 on the first day
        self.assertEqual(report.hours_on_site, Decimal('2.50'))
        other, = Report.search([('staff', '=', field2.id)])
        self.assertEqual((other.assigned, other.read_meters, other.to_read),
            (1, 0, 1))
        # field2's reading of E-103 alone that day: no time
        self.assertEqual(other.hours_on_site, Decimal('0.00'))

    @with_transaction()
    def test_unread_export(self):
        "The unread list in Excel: the lines not read, with their reason"
        pool = Pool()
        Line = pool.get('meter.field.round.line')
        UnreadReport = pool.get('meter.field.round.unread', type='report')
        set_up_campus()
        round_ = make_round()
        read('E-101', 120)
        Line.skip([round_.lines[1]], 'other', "表箱锈死")
        oext, content, _, name = UnreadReport.execute(
            [round_.id], {'model': 'meter.field.round'})
        self.assertEqual(oext, 'xlsx')
        sheet = openpyxl.load_workbook(io.BytesIO(content)).active
        rows = list(sheet.iter_rows(values_only=True))
        headers = rows[1]
        body = [dict(zip(headers, r)) for r in rows[2:]]
        meter_column = [h for h in headers if h in {'Meter', '表计'}][0]
        self.assertEqual([r[meter_column] for r in body],
            [meters('E-102')[0].rec_name, meters('E-103')[0].rec_name])
        self.assertIn("表箱锈死", rows[2])
        self.assertIn('Other', rows[2])
        self.assertIn('To Read', rows[3])

        # From the unread list: the lines chosen, those not read only
        oext, content, _, _ = UnreadReport.execute(
            [l.id for l in round_.lines], {'model': Line.__name__})
        rows = list(openpyxl.load_workbook(io.BytesIO(content))
            .active.iter_rows(values_only=True))
        self.assertEqual(len(rows), 4)

    @with_transaction()
    def test_routes_make_rounds(self):
        "A saved route makes its round of the period once"
        pool = Pool()
        Route = pool.get('meter.field.route')
        Round = pool.get('meter.field.round')
        east, _ = set_up_campus()
        route, = Route.create([{
                    'name': "1号楼线", 'staff': staff('field1').id,
                    'campus': east.id,
                    'meters': [('create', [
                                {'meter': m.id, 'sequence': i}
                                for i, m in enumerate(
                                    meters('E-103', 'E-101'))])],
                    }])
        rounds = Route.generate_month()
        self.assertEqual(len(rounds), 1)
        self.assertEqual([l.meter.number for l in rounds[0].lines],
            ['E-103', 'E-101'])
        self.assertEqual(rounds[0].start_date, this_month()[0])
        self.assertEqual(Route.generate_month(), [])
        self.assertEqual(Round.search([], count=True), 1)

    @with_transaction()
    def test_field_data(self):
        "The round as a phone carries it: meters, last values, limits"
        pool = Pool()
        Reading = pool.get('meter.reading')
        set_up_campus()
        round_ = make_round()
        meter, = meters('E-101')
        readings = Reading.create([{
                    'meter': meter.id, 'value': Decimal(v), 'source': 'field',
                    'taken_at': dt.datetime.now() - dt.timedelta(days=d)}
                for v, d in [(100, 120), (130, 90), (160, 60), (190, 30)]])
        Reading.confirm([r for r in Reading.browse(readings)
                if r.state == 'draft'])
        data = round_.field_data()
        import json
        json.dumps(data)
        self.assertEqual([l['meter']['number'] for l in data['lines']],
            ['E-101', 'E-102', 'E-103'])
        limits = data['lines'][0]['limits']
        self.assertEqual(Decimal(limits['last_value']), Decimal(190))
        # 30 a month: 1 a day, times the high usage factor (3)
        self.assertEqual(Decimal(limits['max_daily_use']), Decimal(3))
        self.assertEqual(data['lines'][1]['limits']['last_value'], '100')
        self.assertIsNone(data['lines'][1]['limits']['max_daily_use'])

    @with_transaction()
    def test_record_rules(self):
        "Field staff see their own rounds only"
        pool = Pool()
        Round = pool.get('meter.field.round')
        Line = pool.get('meter.field.round.line')
        set_up_campus()
        mine = make_round('field1')
        make_round('field2')
        with Transaction().set_user(staff('field1').id), \
                Transaction().set_context(_check_access=True):
            self.assertEqual(Round.search([]), [mine])
            self.assertEqual(len(Line.search([])), 3)
        self.assertEqual(Round.search([], count=True), 2)


class RoundRouteTestCase(FieldTestCase):
    "Test the staff's round pages"

    @classmethod
    def setUpDatabase(cls):
        set_up_campus(configure=False)
        make_round('field1')
        # Each test works its own round: the database is shared
        make_round('field1', numbers=('E-201', 'E-103'), name="2号楼")
        make_round('field2', numbers=('E-201',))

    def round_id(self, login, name="1号楼"):
        with Transaction().start(DB_NAME, 0):
            Round = Pool().get('meter.field.round')
            round_, = Round.search([('staff.login', '=', login),
                    ('name', '=', name)])
            return round_.id, [l.id for l in round_.lines]

    def line(self, line_id):
        with Transaction().start(DB_NAME, 0):
            line = Pool().get('meter.field.round.line')(line_id)
            return (line.state, line.skip_reason, line.skip_note,
                line.reading.id if line.reading else None,
                line.round.state, line.round.notes,
                line.round.closed_by.login if line.round.closed_by else None)

    def test_rounds_and_others(self):
        "The staff's own rounds; another's answers 404"
        client = self.logged_in()
        mine, _ = self.round_id('field1')
        theirs, lines = self.round_id('field2', "1号楼")
        response = client.get(self.url('rounds'))
        self.assertEqual(response.status_code, 200)
        self.assertIn(self.href('rounds/%d' % mine), response.text)
        self.assertNotIn(self.href('rounds/%d' % theirs), response.text)
        self.assertRegex(response.text, r'[0-3]/3')
        for page in ['rounds/%d' % theirs, 'rounds/%d/data' % theirs,
                'rounds/%d/skip/%d' % (theirs, lines[0]),
                'rounds/%d/skip/%d' % (mine, lines[0])]:
            self.assertEqual(client.get(self.url(page)).status_code, 404,
                page)
        response = client.get(self.url('rounds/%d' % mine))
        self.assertEqual(response.status_code, 200)
        self.assertLess(response.text.index('E-101'),
            response.text.index('E-103'))
        data = client.get(self.url('rounds/%d/data' % mine)).json
        self.assertEqual([l['meter']['number'] for l in data['lines']],
            ['E-101', 'E-102', 'E-103'])
        # The home page leads to the rounds
        self.assertIn('href="%s"' % self.href('rounds'),
            client.get(self.url()).text)

    def test_skip(self):
        "A skip needs the CSRF token, a reason, a note for other"
        client = self.logged_in()
        round_id, lines = self.round_id('field1', "2号楼")
        page = 'rounds/%d/skip/%d' % (round_id, lines[1])
        response = client.get(self.url(page))
        self.assertEqual(response.status_code, 200)
        for reason in ['无法进入', '用户不在', '表计损坏', '表被遮挡', '读数不清',
                '其他']:
            self.assertIn(reason, response.text)
        token = CSRF.search(response.text).group(1)

        response = client.post(self.url(page), data={'reason': 'broken'})
        self.assertEqual(response.status_code, 403)
        response = client.post(self.url(page), data={
                'csrf_token': token, 'reason': 'other', 'note': ''})
        self.assertEqual(response.status_code, 400)
        self.assertIn('需要说明', response.text)
        response = client.post(self.url(page), data={
                'csrf_token': token, 'reason': 'nonsense'})
        self.assertEqual(response.status_code, 400)
        self.assertEqual(self.line(lines[1])[:2], ('to_read', None))

        response = client.post(self.url(page), data={
                'csrf_token': token, 'reason': 'other', 'note': '狗拦门'})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self.line(lines[1])[:3],
            ('skipped', 'other', '狗拦门'))
        response = client.get(self.url('rounds/%d' % round_id))
        self.assertIn('其他：狗拦门', response.text)

    def test_read_close(self):
        "A reading from the round comes back to it; closing keeps the notes"
        client = self.logged_in()
        round_id, lines = self.round_id('field1')
        response = client.get(self.url('rounds/%d' % round_id))
        self.assertIn(self.href('m/E-101') + '?round=%d' % round_id,
            response.text)
        card = client.get(self.url('m/E-101?round=%d' % round_id))
        self.assertIn('name="round" value="%d"' % round_id, card.text)
        token = CSRF.search(card.text).group(1)
        response = client.post(self.url('m/E-101/reading'), data={
                'csrf_token': token, 'value': '123', 'round': str(round_id),
                'media_id': '',
                'photo': (io.BytesIO(image()), 'meter.jpg', 'image/jpeg')})
        self.assertEqual(response.status_code, 302, response.text)
        self.assertIn('rounds/%d?read=' % round_id,
            response.headers['Location'])
        state, _, _, reading, round_state, _, _ = self.line(lines[0])
        self.assertEqual((state, round_state), ('read', 'in_progress'))
        self.assertTrue(reading)
        response = client.get(response.headers['Location'])
        self.assertIn('1/3', response.text)
        self.assertIn('读数已提交', response.text)

        response = client.post(self.url('rounds/%d/close' % round_id), data={
                'csrf_token': token, 'notes': '3号表箱上锁'})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self.line(lines[0])[4:],
            ('closed', '3号表箱上锁', 'field1'))
        response = client.get(self.url('rounds/%d' % round_id))
        self.assertIn('关闭于', response.text)
        self.assertNotIn('id="round-close"', response.text)
        # Closed: no more skips
        response = client.post(
            self.url('rounds/%d/skip/%d' % (round_id, lines[1])),
            data={'csrf_token': token, 'reason': 'broken'})
        self.assertEqual(response.status_code, 400)
