"""The field staff's pages through the Tryton WSGI application: the login
with the Tryton user, the search of a meter, its card and its reading with
a photo, as the staff's Tryton user with the campus record rules."""
import datetime as dt
import io
import unittest
from decimal import Decimal
from urllib.parse import quote, unquote

from PIL import Image

from trytond import config
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

from .tools import CSRF, FieldTestCase, PASSWORD



def image(kind='JPEG', size=(640, 480)):
    data = io.BytesIO()
    Image.new('RGB', size, (200, 30, 30)).save(data, kind)
    return data.getvalue()


class FieldRouteTestCase(FieldTestCase):
    "Test the field staff's pages"

    @classmethod
    def setUpDatabase(cls):
        pool = Pool()
        Campus = pool.get('meter.campus')
        Account = pool.get('meter.account')
        Meter = pool.get('meter.meter')
        Reading = pool.get('meter.reading')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        east = Campus(name="东校区", code='E')
        east.save()
        west = Campus(name="西校区", code='W')
        west.save()
        for campus, number, barcode in [
                (east, 'E-1001', '6901001'), (east, 'E-1002', None),
                (west, 'W-2001', '6902001')]:
            account = Account(number='A' + number, name="住户" + number,
                category='resident', campus=campus)
            account.save()
            Meter(number=number, barcode=barcode, kind='electricity',
                account=account, campus=campus, digits=6, decimals=0,
                multiplier=Decimal(1), initial_value=Decimal(0),
                reading_method='self').save()
        meter, = Meter.search([('number', '=', 'E-1001')])
        Reading.create([{
                    'meter': meter.id, 'value': Decimal(value),
                    'source': 'field',
                    'taken_at': dt.datetime.now() - dt.timedelta(days=days)}
                for value, days in [(100, 62), (150, 31), (180, 3)]])
        field = ModelData.get_id('meter_base', 'group_field_staff')
        User.create([{
                    'login': 'field1', 'name': "外线一号",
                    'password': PASSWORD, 'groups': [('add', [field])],
                    'meter_campuses': [('add', [east.id])],
                    }, {
                    'login': 'gone', 'name': "已停用", 'active': False,
                    'password': PASSWORD, 'groups': [('add', [field])],
                    'meter_campuses': [('add', [east.id])],
                    }])

    def reading_count(self, number, **domain):
        with Transaction().start(DB_NAME, 0):
            return Pool().get('meter.reading').search([
                    ('meter.number', '=', number)]
                + [(k, '=', v) for k, v in domain.items()], count=True)

    def test_home_shows_login_form(self):
        "A visitor not logged in gets the login form, in Chinese"
        response = self.client().get(self.url())
        self.assertEqual(response.status_code, 200)
        self.assertIn('业务中心 · 登录', response.text)
        self.assertIn('name="password"', response.text)
        self.assertTrue(CSRF.search(response.text))

    def test_login(self):
        "The Tryton user and password open the staff's pages"
        client = self.client()
        response = self.post_login(client, 'field1', PASSWORD)
        self.assertEqual(response.status_code, 302, response.text)
        self.assertTrue(unquote(response.headers['Location']).endswith(
                self.url()))
        home = client.get(self.url())
        self.assertEqual(home.status_code, 200)
        self.assertIn('外线一号', home.text)
        self.assertIn('查找表计', home.text)

    def test_login_goes_on_to_the_page_asked(self):
        "A page asked before the login opens after it"
        client = self.client()
        response = client.get(self.url('m/E-1001'))
        self.assertIn('name="password"', response.text)
        self.assertIn('value="m/E-1001"', response.text)
        response = self.post_login(client, 'field1', PASSWORD, 'm/E-1001')
        self.assertTrue(unquote(response.headers['Location']).endswith(
                self.url('m/E-1001')))

    def test_login_bad_password(self):
        "A wrong password is refused; the user name typed is kept"
        client = self.client()
        response = self.post_login(client, 'field1', 'wrong-password')
        self.assertEqual(response.status_code, 400)
        self.assertIn('账号或密码错误', response.text)
        self.assertIn('value="field1"', response.text)
        self.assertNotIn('wrong-password', response.text)
        self.assertIn('name="password"', client.get(self.url()).text)

    def test_login_throttled(self):
        "Tryton's own throttling of the logins answers in Chinese"
        old = config.get('session', 'max_attempt', default=None)
        config.set('session', 'max_attempt', '-1')
        try:
            response = self.post_login(self.client(), 'field1', PASSWORD)
        finally:
            if old is None:
                config.remove_option('session', 'max_attempt')
            else:
                config.set('session', 'max_attempt', old)
        self.assertEqual(response.status_code, 429)
        self.assertIn('登录失败次数过多', response.text)
        self.assertIn('value="field1"', response.text)

    def test_login_inactive_user(self):
        "A deactivated user is refused"
        response = self.post_login(self.client(), 'gone', PASSWORD)
        self.assertEqual(response.status_code, 400)
        self.assertIn('账号或密码错误', response.text)

    def test_deactivated_user_out_at_once(self):
        "A session of a user deactivated since is no session"
        client = self.logged_in()
        with Transaction().start(DB_NAME, 0) as transaction:
            User = Pool().get('res.user')
            user, = User.search([('login', '=', 'field1')])
            User.write([user], {'active': False})
            transaction.commit()
        try:
            response = client.get(self.url('m/E-1001'))
            self.assertIn('name="password"', response.text)
            self.assertNotIn('E-1001</h1>', response.text)
        finally:
            with Transaction().start(DB_NAME, 0) as transaction:
                User.write([user], {'active': True})
                transaction.commit()

    def test_login_csrf(self):
        "The login form needs the token of its own session"
        client = self.client()
        response = client.post(self.url('login'), data={
                'login': 'field1', 'password': PASSWORD})
        self.assertEqual(response.status_code, 403)
        other = self.client()
        response = other.post(self.url('login'), data={
                'csrf_token': self.token(client), 'login': 'field1',
                'password': PASSWORD})
        self.assertEqual(response.status_code, 403)

    def test_logout(self):
        "Logging out needs the form's token and ends the session"
        client = self.logged_in()
        self.assertEqual(client.post(self.url('logout')).status_code, 403)
        response = client.post(self.url('logout'), data={
                'csrf_token': self.token(client)})
        self.assertEqual(response.status_code, 302)
        self.assertIn('name="password"', client.get(self.url()).text)

    def test_search(self):
        "The search lists the meters of the staff's campuses only"
        client = self.logged_in()
        response = client.get(self.url(), query_string={'q': '-'})
        self.assertEqual(response.status_code, 200)
        self.assertIn('E-1001', response.text)
        self.assertIn('E-1002', response.text)
        self.assertNotIn('W-2001', response.text)
        response = client.get(self.url(), query_string={'q': 'W-2'})
        self.assertIn('没有编码为', response.text)

    def test_scanned_code_opens_card(self):
        "A barcode or number typed or scanned opens the meter's card"
        client = self.logged_in()
        for code in ['6901001', 'E-1001']:
            with self.subTest(code=code):
                response = client.get(self.url(), query_string={'q': code})
                self.assertEqual(response.status_code, 302)
                self.assertTrue(unquote(response.headers['Location'])
                    .endswith(self.url('m/6901001')))

    def test_card(self):
        "The card shows the meter, its account and its last readings"
        client = self.logged_in()
        for code in ['6901001', 'E-1001']:
            with self.subTest(code=code):
                response = client.get(self.url('m/' + code))
                self.assertEqual(response.status_code, 200, response.text)
                self.assertIn('E-1001', response.text)
                self.assertIn('AE-1001', response.text)
                self.assertIn('东校区', response.text)
                self.assertIn('180', response.text)
                self.assertIn('现场抄录', response.text)

    def test_other_campus_not_found(self):
        "A meter of another campus answers 404, by number and by barcode"
        client = self.logged_in()
        for page in ['m/W-2001', 'm/6902001', 'm/nothing',
                'm/W-2001/check?value=1']:
            with self.subTest(page=page):
                response = client.get(self.url(page))
                self.assertEqual(response.status_code, 404)
        response = client.post(self.url('m/W-2001/reading'), data={
                'csrf_token': self.token(client), 'value': '10',
                'photo': (io.BytesIO(image()), 'meter.jpg')})
        self.assertEqual(response.status_code, 404)
        self.assertEqual(self.reading_count('W-2001'), 0)

    def test_reading_check(self):
        "Before submitting, the staff learns what the value is flagged for"
        client = self.logged_in()
        answer = client.get(self.url('m/E-1001/check'),
            query_string={'value': '170'}).json
        self.assertEqual(
            [a['code'] for a in answer['anomalies']], ['lower'])
        self.assertEqual(answer['previous'], '180')
        answer = client.get(self.url('m/E-1001/check'),
            query_string={'value': '190'}).json
        self.assertEqual(answer['anomalies'], [])
        self.assertEqual(answer['consumption'], '10')

    def test_reading_check_rollover(self):
        "A register that went round past its highest value is said so"
        with Transaction().start(DB_NAME, 0) as transaction:
            pool = Pool()
            Meter = pool.get('meter.meter')
            east, = pool.get('meter.campus').search([('code', '=', 'E')])
            Meter.create([{
                        'number': 'E-1009', 'kind': 'water', 'campus': east.id,
                        'digits': 3, 'decimals': 0,
                        'initial_value': Decimal(990)}])
            transaction.commit()
        client = self.logged_in()
        answer = client.get(self.url('m/E-1009/check'),
            query_string={'value': '5'}).json
        self.assertEqual(answer['anomalies'], [])
        self.assertEqual(answer['consumption'], '15')
        self.assertIn('翻转', answer['rollover'])
        self.assertIn('15', answer['rollover'])
        answer = client.get(self.url('m/E-1009/check'),
            query_string={'value': '995'}).json
        self.assertFalse(answer['rollover'])
        self.assertEqual(answer['consumption'], '5')

    def test_reading(self):
        "A reading with its photo is stored with source field and the staff"
        client = self.logged_in()
        token = self.token(client, 'm/E-1002')
        photo = image()
        response = client.post(self.url('m/E-1002/reading'), data={
                'csrf_token': token, 'value': '42',
                'photo': (io.BytesIO(photo), 'meter.jpg')})
        self.assertEqual(response.status_code, 302, response.text)
        page = client.get(unquote(response.headers['Location']))
        self.assertEqual(page.status_code, 200)
        self.assertIn('读数已提交', page.text)
        # With the meter's decimals (none), as stored on any backend
        self.assertIn('reading-value">42</div>', page.text)
        with Transaction().start(DB_NAME, 0):
            reading, = Pool().get('meter.reading').search([
                    ('meter.number', '=', 'E-1002')])
            self.assertEqual(reading.value, Decimal(42))
            self.assertEqual(reading.source, 'field')
            self.assertEqual(reading.reader.login, 'field1')
            self.assertEqual(reading.submitter, "外线一号")
            self.assertEqual(reading.photo, photo)
        # The card lists it
        self.assertIn('42', client.get(self.url('m/E-1002')).text)

    def test_reading_with_phone_position(self):
        """The phone's position goes with the reading; the photo carrying
        none, the evidence check measures it against the meter's"""
        client = self.logged_in()
        with Transaction().start(DB_NAME, 0) as transaction:
            Meter = Pool().get('meter.meter')
            meter, = Meter.search([('number', '=', 'E-1002')])
            Meter.write([meter], {
                    'latitude': Decimal('30.274085'),
                    'longitude': Decimal('120.155070')})
            transaction.commit()
        token = self.token(client, 'm/E-1002')
        # 1 km north: too far; then at the meter
        for latitude, value in [('30.283085', '50'), ('30.274100', '51')]:
            response = client.post(self.url('m/E-1002/reading'), data={
                    'csrf_token': token, 'value': value,
                    'latitude': latitude, 'longitude': '120.15507',
                    'accuracy': '12.5',
                    'photo': (io.BytesIO(image()), 'meter.jpg')})
            self.assertEqual(response.status_code, 302, response.text)
        with Transaction().start(DB_NAME, 0):
            far, near = Pool().get('meter.reading').search([
                    ('meter.number', '=', 'E-1002'),
                    ('value', 'in', [Decimal(50), Decimal(51)]),
                    ], order=[('value', 'ASC')])
            self.assertEqual(
                (far.reader_latitude, far.reader_longitude,
                    far.reader_accuracy),
                (Decimal('30.283085'), Decimal('120.155070'), 12))
            places = {r.value: [(c.outcome, c.detail) for c in r.checks
                    if c.check == 'photo_place'] for r in [far, near]}
        (outcome, detail), = places[Decimal(50)]
        self.assertEqual(outcome, 'failed')
        self.assertIn('1001', detail)
        (outcome, detail), = places[Decimal(51)]
        self.assertEqual(outcome, 'passed')

    def test_reading_bad_position_refused(self):
        "A position that is no number is refused in Chinese, nothing stored"
        client = self.logged_in()
        count = self.reading_count('E-1002')
        token = self.token(client, 'm/E-1002')
        for latitude, longitude in [('north', '120.1'), ('95', '120.1'),
                ('30.1', 'Infinity')]:
            with self.subTest(latitude=latitude, longitude=longitude):
                response = client.post(self.url('m/E-1002/reading'), data={
                        'csrf_token': token, 'value': '60',
                        'latitude': latitude, 'longitude': longitude,
                        'photo': (io.BytesIO(image()), 'meter.jpg')})
                self.assertEqual(response.status_code, 400, response.text)
                self.assertIn('位置', response.text)
                self.assertIn('value="60"', response.text)
        self.assertEqual(self.reading_count('E-1002'), count)

    def test_reading_refused_keeps_value(self):
        "A refused reading says why in Chinese and keeps what was typed"
        client = self.logged_in()
        token = self.token(client, 'm/E-1001')
        for data, message in [
                ({'value': '195'}, '照片'),
                ({'value': '195', 'photo': (
                                io.BytesIO(b'GIF89a not an image'),
                                'meter.gif')}, '照片'),
                ({'value': 'abc', 'photo': (
                                io.BytesIO(image()), 'meter.jpg')}, '读数'),
                ]:
            with self.subTest(data=data['value']):
                response = client.post(self.url('m/E-1001/reading'),
                    data=dict(data, csrf_token=token))
                self.assertEqual(response.status_code, 400, response.text)
                self.assertIn(message, response.text)
                self.assertIn('value="%s"' % data['value'], response.text)
        self.assertEqual(self.reading_count('E-1001', source='field'), 3)

    def test_reading_csrf(self):
        "A reading without the session's token is refused"
        client = self.logged_in()
        response = client.post(self.url('m/E-1001/reading'), data={
                'value': '190', 'photo': (io.BytesIO(image()), 'm.jpg')})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.reading_count('E-1001'), 3)

    def test_other_pages_not_found(self):
        "Another address under the field pages is the pages' 404"
        response = self.client().get(self.url('no/such/page'))
        self.assertEqual(response.status_code, 404)
        self.assertIn('无法完成操作', response.text)
        # Its links are of the field pages, which have no contact page
        self.assertIn('href="%s"' % self.url().replace(':', '%3A'),
            response.text)
        self.assertNotIn('联系我们', response.text)

    def test_quoted_card_url(self):
        "The card's address is the meter's code, quoted"
        client = self.logged_in()
        response = client.get(self.url(), query_string={'q': 'E-1002'})
        self.assertTrue(unquote(response.headers['Location']).endswith(
                self.url('m/' + quote('E-1002'))))


class PagesUrlTestCase(unittest.TestCase):
    "The public address of the field pages, for WeChat's JS-SDK signature"

    def test_pages_url(self):
        from types import SimpleNamespace
        from trytond.modules.meter_wechat.web import pages_url
        for setting, path, expected in [
                (None, '/db/field/m/E-1', 'http://h/db/field/'),
                (None, '/db/wechat/usage', 'http://h/db/wechat/'),
                ('https://x.cn/db/wechat', '/db/field/',
                    'https://x.cn/db/field/'),
                ('https://x.cn/db/wechat/', '/db/wechat/reading',
                    'https://x.cn/db/wechat/'),
                ]:
            with self.subTest(setting=setting, path=path):
                request = SimpleNamespace(path=path, host_url='http://h/',
                    view_args={'database_name': 'db'})
                settings = SimpleNamespace(get_setting=lambda n: setting)
                self.assertEqual(pages_url(request, settings), expected)


del FieldTestCase

if __name__ == '__main__':
    unittest.main()
