"""The field staff's pages beyond the card: today's work, the card's
photos, usage, bills and work orders, the usage query and its Excel
export, 个人信息, the WeChat binding and the form kept through a login,
as the staff's Tryton user with the campus record rules."""
import datetime as dt
import html
import io
import json
import re
import time
import unittest
from decimal import Decimal
from urllib.parse import parse_qs, unquote, urlsplit

import openpyxl
from PIL import Image

from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

from .tools import CSRF, PASSWORD, FakeWeChatMixin, FieldTestCase


APPID = FakeWeChatMixin.WECHAT_APPID
SECRET = FakeWeChatMixin.WECHAT_SECRET
WECHAT_UA = ('Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 '
    'Mobile Safari/537.36 MicroMessenger/8.0.47')


def image(size=(640, 480)):
    data = io.BytesIO()
    Image.new('RGB', size, (30, 120, 200)).save(data, 'JPEG')
    return data.getvalue()


def month_start(months_back=0):
    today = dt.date.today()
    year, month = today.year, today.month - months_back
    while month < 1:
        year, month = year - 1, month + 12
    return dt.datetime(year, month, 15, 4)


class FieldPagesTestCase(FakeWeChatMixin, FieldTestCase):
    "Test the field staff's pages of today's work, usage and profile"

    @classmethod
    def setUpDatabase(cls):
        pool = Pool()
        Campus = pool.get('meter.campus')
        Location = pool.get('meter.location')
        Account = pool.get('meter.account')
        Meter = pool.get('meter.meter')
        Reading = pool.get('meter.reading')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        WorkOrder = pool.get('meter.work_order')
        Period = pool.get('meter.billing.period')
        Bill = pool.get('meter.bill')
        Payment = pool.get('meter.payment')
        WeChat = pool.get('meter.wechat.configuration')
        settings = WeChat(1)
        settings.appid = APPID
        settings.secret = SECRET
        settings.api_base_url = cls.api.url
        settings.oauth_base_url = cls.api.url + 'connect/'
        settings.save()
        east = Campus(name="东校区", code='E')
        east.save()
        west = Campus(name="西校区", code='W')
        west.save()
        buildings = {}
        for campus, name in [(east, "E1幢"), (west, "W1幢")]:
            buildings[campus.code] = Location(name=name, campus=campus,
                kind='building')
            buildings[campus.code].save()
        field = ModelData.get_id('meter_base', 'group_field_staff')
        field1, other = User.create([{
                    'login': 'field1', 'name': "外线一号",
                    'password': PASSWORD, 'groups': [('add', [field])],
                    'meter_campuses': [('add', [east.id])],
                    }, {
                    'login': 'field2', 'name': "外线二号",
                    'password': PASSWORD, 'groups': [('add', [field])],
                    'meter_campuses': [('add', [east.id])],
                    }])
        meters = {}
        for campus, number, barcode, kind in [
                (east, 'E-1', '6901', 'electricity'),
                (east, 'E-2', None, 'water'),
                (east, 'E-3', None, 'electricity'),
                (west, 'W-1', '6909', 'electricity')]:
            account = Account(number='A' + number, name="住户" + number,
                category='resident', campus=campus,
                location=buildings[campus.code])
            account.save()
            meters[number] = Meter(number=number, barcode=barcode,
                kind=kind, account=account, campus=campus,
                location=buildings[campus.code], digits=6, decimals=0,
                multiplier=Decimal(1), initial_value=Decimal(0),
                reading_method='manual')
            meters[number].save()
        # E-2 lives in E-1's account too, for the account's usage
        meters['E-2'].account = meters['E-1'].account
        meters['E-2'].save()
        for number in ['E-1', 'E-2', 'E-3', 'W-1']:
            Reading.create([{
                        'meter': meters[number].id, 'value': Decimal(v),
                        'source': 'handheld', 'taken_at': month_start(b)}
                    for v, b in [(100, 3), (130, 2), (170, 1)]])
        Reading.confirm(Reading.search([]))
        # E-1 read this month with a photo, by another member of staff
        Reading.create([{
                    'meter': meters['E-1'].id, 'value': Decimal(200),
                    'source': 'field', 'reader': other.id,
                    'photo': image(), 'taken_at': dt.datetime.now()}])
        # E-3 read this month by field1, far lower: waits for review
        Reading.create([{
                    'meter': meters['E-3'].id, 'value': Decimal(20),
                    'source': 'field', 'reader': field1.id,
                    'photo': image(), 'taken_at': dt.datetime.now()}])
        WorkOrder.create([{
                    'kind': 'repair', 'subject': "表箱门坏了",
                    'account': meters['E-1'].account.id,
                    'campus': east.id, 'assignee': field1.id,
                    }, {
                    'kind': 'repair', 'subject': "已完成的维修",
                    'account': meters['E-1'].account.id,
                    'campus': east.id, 'assignee': field1.id,
                    'state': 'done',
                    }])
        today = dt.date.today()
        period, = Period.create([{
                    'name': "上月", 'start_date': today.replace(day=1)
                    - dt.timedelta(days=20),
                    'end_date': today.replace(day=1) - dt.timedelta(days=1),
                    }])
        for number, amount in [('E-1', '88.50'), ('W-1', '66.60')]:
            account = meters[number].account
            Bill.create([{
                        'number': 'B' + number, 'account': account.id,
                        'campus': account.campus.id,
                        'category': 'resident', 'billing_mode': 'postpaid',
                        'period': period.id, 'start_date': period.start_date,
                        'end_date': period.end_date,
                        'amount': Decimal(amount),
                        'paid_amount': Decimal(0), 'state': 'posted'}])
            Payment.create([{
                        'account': account.id, 'campus': account.campus.id,
                        'method': 'cash', 'date': today,
                        'amount': Decimal('12.30'), 'state': 'posted',
                        'receipt_number': 'R' + number}])

    def user(self, login='field1'):
        User = Pool().get('res.user')
        with Transaction().set_context(active_test=False):
            user, = User.search([('login', '=', login)])
        return user

    # 业务中心: today's work

    def test_home_today(self):
        """Home lists this month's unread meters of the campus, the readings
        in review and the work orders"""
        client = self.logged_in()
        response = client.get(self.url())
        self.assertEqual(response.status_code, 200)
        text = response.text
        unread = text[text.index('class="weui-cells unread"'):]
        # E-2 alone: E-1 and E-3 are read this month, W-1 is the west's
        self.assertIn('待抄表计：1 块', text)
        self.assertIn('E-2', unread)
        self.assertNotIn('E-1<', unread)
        self.assertNotIn('W-1', text)
        self.assertIn('E1幢', unread)
        review = text[text.index('class="weui-cells in-review"'):]
        self.assertIn('待审核的读数（1）', text)
        self.assertIn('E-3', review.split('</div>\n</div>')[0])
        self.assertIn('我的工单（1）', text)
        self.assertIn('表箱门坏了', text)
        self.assertNotIn('已完成的维修', text)
        # The other member of staff has their own reading in review
        other = self.logged_in('field2').get(self.url()).text
        review = other[other.index('class="weui-cells in-review"'):]
        self.assertIn('E-1 · 200', review)
        self.assertNotIn('E-3', review)
        self.assertIn('我的工单（0）', other)

    def test_unread_in_period_model(self):
        "The unread meters are those without a reading this month, by rules"
        with Transaction().start(DB_NAME, 0):
            Meter = Pool().get('meter.meter')
            count, meters = Meter.unread_in_period(dt.date.today())
            self.assertEqual(count, len(meters))
            numbers = {m.number for m in meters}
            self.assertIn('E-2', numbers)
            self.assertFalse(numbers & {'E-1', 'E-3'})
            # Last month everything was read
            count, _ = Meter.unread_in_period(month_start(1).date())
            self.assertEqual(count, 0)
            user = self.user()
        with Transaction().start(DB_NAME, user.id,
                context={'_check_access': True}):
            count, meters = Pool().get('meter.meter').unread_in_period(
                dt.date.today())
            self.assertEqual([m.number for m in meters], ['E-2'])

    def test_home_pagination(self):
        "A page number beyond the list shows no meter, a bad one the first"
        client = self.logged_in()
        self.assertNotIn('E-2', client.get(self.url(),
                query_string={'page': '2'}).text.split('待抄表计')[-1])
        self.assertIn('E-2', client.get(self.url(),
                query_string={'page': 'x'}).text)

    def test_scanned_card_url(self):
        "A QR label carrying the card's full address opens the card"
        client = self.logged_in()
        response = client.get(self.url(), query_string={
                'q': 'https://wx.example.edu.cn/meter/field/m/6901'})
        self.assertEqual(response.status_code, 302)
        self.assertTrue(unquote(response.headers['Location']).endswith(
                self.url('m/6901')))
        response = client.get(self.url(), query_string={
                'q': 'https://x.cn/db/field/m/6909'})
        self.assertEqual(response.status_code, 200)
        self.assertIn('没有编码为“6909”的表计', response.text)

    def test_find_completion(self):
        "The completion proposes the meters of the staff's campuses only"
        client = self.logged_in()
        answer = client.get(self.url('find'), query_string={'q': '-1'}).json
        self.assertEqual([m['code'] for m in answer], ['E-1'])
        self.assertIn('电表', answer[0]['text'])
        self.assertIn('6901', answer[0]['text'])
        self.assertEqual(client.get(self.url('find'),
                query_string={'q': 'W-'}).json, [])
        self.assertEqual(client.get(self.url('find'),
                query_string={'q': 'E'}).json, [])
        # Not logged in: the login form, no meter
        response = self.client().get(self.url('find'),
            query_string={'q': 'E-1'})
        self.assertIn('name="password"', response.text)
        self.assertNotIn('"code"', response.text)

    # The card

    def test_card_extras(self):
        "The card shows photos, sources, usage, open bills, payments, orders"
        client = self.logged_in()
        response = client.get(self.url('m/6901'))
        self.assertEqual(response.status_code, 200, response.text)
        text = response.text
        photos = re.findall(r'src="([^"]*/r/(\d+)/photo)"', text)
        self.assertEqual(len(photos), 1)
        self.assertIn('外线人员', text)  # the source field, translated
        self.assertIn('抄表器', text)  # handheld
        labels = json.loads(html.unescape(
                re.search(r"data-labels='([^']*)'", text).group(1)))
        values = json.loads(html.unescape(
                re.search(r"data-values='([^']*)'", text).group(1)))
        self.assertEqual(len(labels), 12)
        self.assertEqual(values[-3:-1], [30.0, 40.0])
        self.assertIn('BE-1', text)
        self.assertIn('¥88.50', text)
        self.assertIn('RE-1', text)
        self.assertIn('¥12.30', text)
        self.assertNotIn('BW-1', text)
        self.assertIn('表箱门坏了', text)
        self.assertNotIn('已完成的维修', text)
        photo = client.get(unquote(photos[0][0]))
        self.assertEqual(photo.status_code, 200)
        self.assertEqual(photo.headers['Content-Type'], 'image/jpeg')
        self.assertLessEqual(max(Image.open(io.BytesIO(photo.data)).size),
            256)

    def test_photo_other_campus(self):
        "The photo of another campus's reading is not found"
        with Transaction().start(DB_NAME, 0) as transaction:
            pool = Pool()
            Reading = pool.get('meter.reading')
            Meter = pool.get('meter.meter')
            west, = Meter.search([('number', '=', 'W-1')])
            reading, = Reading.create([{
                        'meter': west.id, 'value': Decimal(300),
                        'source': 'field', 'photo': image(),
                        'taken_at': dt.datetime.now()}])
            transaction.commit()
        client = self.logged_in()
        for page in ['r/%d/photo' % reading.id, 'r/%d' % reading.id]:
            with self.subTest(page=page):
                self.assertEqual(client.get(self.url(page)).status_code, 404)

    def test_bills_by_record_rules(self):
        "Field staff read the bills and payments of their campuses only"
        with Transaction().start(DB_NAME, 0):
            user = self.user()
        with Transaction().start(DB_NAME, user.id,
                context={'_check_access': True}):
            pool = Pool()
            self.assertEqual([b.number for b in pool.get('meter.bill')
                    .search([])], ['BE-1'])
            self.assertEqual([p.receipt_number for p in pool.get(
                        'meter.payment').search([])], ['RE-1'])

    # 用能查询

    def test_usage_query(self):
        "The usage of a meter, an account and a building by month"
        client = self.logged_in()
        with Transaction().start(DB_NAME, 0):
            Location = Pool().get('meter.location')
            east, = Location.search([('name', '=', "E1幢")])
            west, = Location.search([('name', '=', "W1幢")])
        for query, title, kinds in [
                ({'meter': '6901'}, '电表 E-1', 1),
                ({'account': 'AE-1'}, '户号 AE-1', 2),
                ({'location': str(east.id)}, '楼栋 E1幢', 2),
                ]:
            with self.subTest(query=query):
                response = client.get(self.url('usage'),
                    query_string=query)
                self.assertEqual(response.status_code, 200, response.text)
                self.assertIn(title, response.text)
                self.assertEqual(
                    response.text.count('class="chart usage-chart"'), kinds)
        building = client.get(self.url('usage'),
            query_string={'location': str(east.id)}).text
        # E-1 and E-3 (electricity) used 30 two months ago: 60 in all
        self.assertIn('>60<', building.replace('\n', ''))
        for query in [{'meter': 'W-1'}, {'account': 'AW-1'},
                {'location': str(west.id)}, {'location': '0x1'},
                {'account': 'nothing'}]:
            with self.subTest(query=query):
                self.assertEqual(client.get(self.url('usage'),
                        query_string=query).status_code, 404)
                self.assertEqual(client.get(self.url('usage.xlsx'),
                        query_string=query).status_code, 404)

    def test_usage_export(self):
        "The usage as an Excel workbook, months by kind with units"
        client = self.logged_in()
        response = client.get(self.url('usage.xlsx'),
            query_string={'account': 'AE-1'})
        self.assertEqual(response.status_code, 200)
        self.assertIn('spreadsheetml', response.headers['Content-Type'])
        self.assertIn("filename*=UTF-8''", response.headers[
                'Content-Disposition'])
        sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
        rows = list(sheet.iter_rows(values_only=True))
        self.assertEqual(rows[0][0], '户号 AE-1 住户E-1')
        self.assertEqual(rows[1], ('月份', '类别', '用量', '单位'))
        self.assertEqual(len(rows), 2 + 24)
        month = month_start(1).strftime('%Y-%m')
        self.assertIn((month, '电表', 40, '千瓦时'), rows)
        self.assertIn((month, '水表', 40, '吨'), rows)

    # 个人信息

    def test_profile_contact(self):
        "The staff edits their contact fields; a wrong one keeps the typing"
        client = self.logged_in()
        page = client.get(self.url('profile'))
        self.assertIn('外线一号', page.text)
        self.assertIn('field1', page.text)
        self.assertIn('未绑定', page.text)
        token = CSRF.search(page.text).group(1)
        response = client.post(self.url('profile'), data={
                'csrf_token': token, 'mobile': '138 0000 1234',
                'office_phone': '0571-8820 1101', 'email': 'f1@example.com'})
        self.assertEqual(response.status_code, 302, response.text)
        self.assertIn('联系方式已保存', client.get(unquote(
                    response.headers['Location'])).text)
        with Transaction().start(DB_NAME, 0):
            user = self.user()
            self.assertEqual((user.mobile, user.office_phone, user.email),
                ('13800001234', '0571-8820 1101', 'f1@example.com'))
        for field, value, message in [
                ('mobile', '12345', '手机号码'),
                ('office_phone', 'call me', '办公电话'),
                ('email', 'not-an-address', '电子邮箱'),
                ]:
            with self.subTest(field=field):
                data = {'csrf_token': token, 'mobile': '13800001234',
                    'office_phone': '', 'email': ''}
                data[field] = value
                response = client.post(self.url('profile'), data=data)
                self.assertEqual(response.status_code, 400)
                self.assertIn(message, response.text)
                self.assertIn('value="%s"' % value, response.text)
        self.assertEqual(client.post(self.url('profile'), data={
                    'mobile': '13900000000'}).status_code, 403)

    def test_contact_rule_on_model(self):
        "A write of the contact fields in sao follows the pages' rule"
        from trytond.modules.meter_field.exceptions import ContactError
        with Transaction().start(DB_NAME, 0):
            User = Pool().get('res.user')
            user = self.user('field2')
            for values in [{'mobile': '12345'}, {'mobile': '138 0000 1234'},
                    {'office_phone': 'call me'}, {'email': 'x@'}]:
                with self.subTest(values=values):
                    with self.assertRaises(ContactError):
                        User.write([user], values)
            User.write([user], {'mobile': '13800001234',
                    'office_phone': '010-6278 0000 转 12',
                    'email': 'f2@example.edu.cn'})
            self.assertEqual(user.mobile, '13800001234')

    def test_profile_password(self):
        "The password changes with the old one; the rules of res.user apply"
        client = self.logged_in('field2')
        token = self.token(client, 'profile')
        for old, new, confirm, message in [
                ('wrong', 'new-pass-2024', 'new-pass-2024', '原密码不正确'),
                (PASSWORD, 'new-pass-2024', 'other-2024', '两次输入'),
                (PASSWORD, 'short', 'short', '至少需要 8 个字符'),
                ('', '', '', '请输入'),
                ]:
            with self.subTest(new=new, message=message):
                response = client.post(self.url('profile/password'), data={
                        'csrf_token': token, 'old_password': old,
                        'new_password': new, 'confirm_password': confirm})
                self.assertEqual(response.status_code, 400)
                self.assertIn(message, response.text)
                self.assertNotIn(new or 'x-x', response.text.replace(
                        'new_password', ''))
        response = client.post(self.url('profile/password'), data={
                'csrf_token': token, 'old_password': PASSWORD,
                'new_password': 'new-pass-2024',
                'confirm_password': 'new-pass-2024'})
        self.assertEqual(response.status_code, 302, response.text)
        try:
            with Transaction().start(DB_NAME, 0):
                User = Pool().get('res.user')
                self.assertTrue(User.get_login(
                        'field2', {'password': 'new-pass-2024'}))
                self.assertFalse(User.get_login(
                        'field2', {'password': PASSWORD}))
        finally:
            with Transaction().start(DB_NAME, 0) as transaction:
                User = Pool().get('res.user')
                User.write([self.user('field2')], {'password': PASSWORD})
                transaction.commit()

    # WeChat

    def wechat_client(self, openid):
        "A client inside WeChat, come back from WeChat's OAuth as openid"
        client = self.client()
        code = 'code-%s-%s' % (openid, time.monotonic_ns())
        self.api.add_code(code, openid)
        return client, client.get(self.url('oauth'),
            query_string={'code': code, 'next': 'profile'})

    def test_wechat_binding(self):
        "A password login inside WeChat binds the OpenID; next visits go in"
        client, response = self.wechat_client('oStaff1')
        self.assertEqual(response.status_code, 200)
        self.assertIn('name="password"', response.text)
        self.assertIn('绑定当前微信', response.text)
        self.assertIn('value="profile"', response.text)
        token = CSRF.search(response.text).group(1)
        response = client.post(self.url('login'), data={
                'csrf_token': token, 'login': 'field1',
                'password': PASSWORD, 'next': 'profile'})
        self.assertEqual(response.status_code, 302)
        self.assertIn('已绑定', client.get(self.url('profile')).text)
        # A new visit: WeChat's authorisation, then straight in
        response = self.client().get(self.url('m/6901'),
            headers={'User-Agent': WECHAT_UA})
        self.assertEqual(response.status_code, 302)
        location = response.headers['Location']
        self.assertTrue(location.startswith(
                self.api.url + 'connect/oauth2/authorize?appid=' + APPID))
        redirect_uri = parse_qs(urlsplit(location).query)['redirect_uri'][0]
        self.assertIn('/field/oauth?next=m%2F6901', redirect_uri)
        client, response = self.wechat_client('oStaff1')
        self.assertEqual(response.status_code, 302)
        self.assertIn('外线一号', client.get(self.url()).text)
        # The same OpenID may be a resident's too
        with Transaction().start(DB_NAME, 0) as transaction:
            Pool().get('meter.wechat.user').login('oStaff1')
            transaction.commit()
        # A deactivated user is out at once, by session and by OpenID
        with Transaction().start(DB_NAME, 0) as transaction:
            User = Pool().get('res.user')
            User.write([self.user()], {'active': False})
            transaction.commit()
        try:
            self.assertIn('name="password"',
                self.wechat_client('oStaff1')[1].text)
            self.assertIn('name="password"', client.get(self.url()).text)
        finally:
            with Transaction().start(DB_NAME, 0) as transaction:
                User.write([self.user()], {'active': True})
                transaction.commit()
        # Unbound in 个人信息: WeChat asks for the password again
        client, _ = self.wechat_client('oStaff1')
        response = client.post(self.url('profile/unbind'), data={
                'csrf_token': self.token(client, 'profile')})
        self.assertEqual(response.status_code, 302)
        self.assertIn('未绑定', client.get(self.url('profile')).text)
        self.assertIn('name="password"',
            self.wechat_client('oStaff1')[1].text)

    def test_oauth_refused(self):
        "A code WeChat refuses gives the login form with the reason"
        client = self.client()
        response = client.get(self.url('oauth'),
            query_string={'code': 'unknown', 'next': ''})
        self.assertEqual(response.status_code, 200)
        self.assertIn('微信未能确认', response.text)
        self.assertIn('name="password"', response.text)

    def test_forged_openid_cookie(self):
        "An OpenID cookie not signed by the server binds nothing"
        client = self.client()
        client.set_cookie('meter_staff_openid', 'oForged.9999999999.abc',
            domain='localhost', path='/%s/field' % DB_NAME)
        self.logged_in(client=client)
        with Transaction().start(DB_NAME, 0):
            self.assertFalse(self.user().field_openid)

    def test_official_account_menu(self):
        "The official account's menu has 内部业务, opening the field pages"
        from trytond.modules.meter_wechat.menu import build_menu
        with Transaction().start(DB_NAME, 0):
            settings = Pool().get('meter.wechat.configuration')(1)
            settings.base_url = 'https://wx.example.edu.cn/meter/wechat/'
            settings.save()
            _, menu = build_menu(settings)
        buttons = {b['name']: b for top in menu['button']
            for b in top.get('sub_button', [top])}
        self.assertLessEqual(max(len(top.get('sub_button', []))
                for top in menu['button']), 5)
        query = parse_qs(urlsplit(buttons['内部业务']['url']).query)
        self.assertEqual(query['redirect_uri'], [
                'https://wx.example.edu.cn/meter/field/oauth?next='])
        query = parse_qs(urlsplit(buttons['在线缴费']['url']).query)
        self.assertEqual(query['redirect_uri'], [
                'https://wx.example.edu.cn/meter/wechat/oauth?next=pay'])

    # Session expiry

    def test_expired_session_keeps_typed(self):
        "A reading posted after the session expired comes back after login"
        client = self.client()
        response = client.post(self.url('m/E-2/reading'), data={
                'csrf_token': 'stale', 'back': 'm/E-2', 'value': '321',
                'photo': (io.BytesIO(image()), 'meter.jpg')})
        self.assertEqual(response.status_code, 200)
        self.assertIn('登录已过期', response.text)
        self.assertIn('value="m/E-2?value=321"', response.text)
        self.assertNotIn('stale', response.text)
        token = CSRF.search(response.text).group(1)
        response = client.post(self.url('login'), data={
                'csrf_token': token, 'login': 'field1',
                'password': PASSWORD, 'next': 'm/E-2?value=321'})
        self.assertEqual(response.status_code, 302)
        card = client.get(unquote(response.headers['Location']))
        self.assertEqual(card.status_code, 200)
        self.assertIn('id="value" inputmode="decimal" value="321"',
            card.text)
        # Nothing was stored without the session
        with Transaction().start(DB_NAME, 0):
            self.assertFalse(Pool().get('meter.reading').search([
                        ('value', '=', 321)]))

    def test_expired_session_profile_no_password(self):
        "The contact typed is kept through the login, never a password"
        client = self.client()
        response = client.post(self.url('profile/password'), data={
                'back': 'profile', 'old_password': 'secret-old',
                'new_password': 'secret-new'})
        self.assertNotIn('secret', response.text)
        response = client.post(self.url('profile'), data={
                'back': 'profile', 'mobile': '13912345678',
                'email': 'kept@example.com'})
        next_ = re.search(r'name="next" value="([^"]*)"', response.text)
        client = self.logged_in(client=client)
        page = client.get(self.url(html.unescape(next_.group(1))))
        self.assertIn('value="13912345678"', page.text)
        self.assertIn('value="kept@example.com"', page.text)


del FieldTestCase

if __name__ == '__main__':
    unittest.main()
