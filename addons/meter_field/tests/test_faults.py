"""The field staff's fault reports (故障上报, 我的上报) through the Tryton
WSGI application: a fault on a meter, on a building or at a place with
the phone's position, with photos, as the staff's Tryton user with the
campus record rules."""
import io
import re
from decimal import Decimal
from urllib.parse import parse_qs, quote, unquote, urlsplit

from PIL import Image

from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

from .tools import CSRF, PASSWORD, FakeWeChatMixin, FieldTestCase

APPID = FakeWeChatMixin.WECHAT_APPID
SECRET = FakeWeChatMixin.WECHAT_SECRET
IN_WECHAT = {'User-Agent': 'Mozilla/5.0 (Linux; Android 14) '
    'AppleWebKit/537.36 Mobile MicroMessenger/8.0.49'}


def image(color=(30, 90, 200), size=(640, 480)):
    data = io.BytesIO()
    Image.new('RGB', size, color).save(data, 'JPEG')
    return data.getvalue()


class FieldFaultTestCase(FakeWeChatMixin, FieldTestCase):
    "Test the fault report pages"

    @classmethod
    def setUpDatabase(cls):
        pool = Pool()
        WeChat = pool.get('meter.wechat.configuration')
        settings = WeChat(1)
        settings.appid = APPID
        settings.secret = SECRET
        settings.api_base_url = cls.api.url
        settings.oauth_base_url = cls.api.url + 'connect/'
        settings.save()
        Campus = pool.get('meter.campus')
        Location = pool.get('meter.location')
        Meter = pool.get('meter.meter')
        User = pool.get('res.user')
        WorkOrder = pool.get('meter.work_order')
        ModelData = pool.get('ir.model.data')
        east = Campus(name="东校区", code='E')
        east.save()
        west = Campus(name="西校区", code='W')
        west.save()
        Location(name="一号楼", campus=east, kind='building').save()
        Location(name="一号楼101室", campus=east, kind='room').save()
        Location(name="西一楼", campus=west, kind='building').save()
        for campus, number, barcode in [
                (east, 'E-3001', '6903001'), (west, 'W-4001', '6904001')]:
            Meter(number=number, barcode=barcode, kind='water',
                campus=campus, digits=6, decimals=0,
                multiplier=Decimal(1), initial_value=Decimal(0),
                reading_method='self').save()
        field = ModelData.get_id('meter_base', 'group_field_staff')
        field1, field2 = User.create([{
                    'login': login, 'name': name, 'password': PASSWORD,
                    'groups': [('add', [field])],
                    'meter_campuses': [('add', [east.id])],
                    } for login, name in [
                    ('field1', "外线一号"), ('field2', "外线二号")]])
        # A fault another member of staff reported
        WorkOrder.report_fault(field2, "二号上报的漏水", place="东门水井")

    def faults(self):
        "The faults as stored, read as root"
        with Transaction().start(DB_NAME, 0):
            WorkOrder = Pool().get('meter.work_order')
            return [{
                    'number': o.number, 'subject': o.subject,
                    'description': o.description,
                    'reporter': o.reporter.login if o.reporter else None,
                    'meter': o.meter.number if o.meter else None,
                    'location': o.location.name if o.location else None,
                    'campus': o.campus.code if o.campus else None,
                    'place': o.place, 'latitude': o.latitude,
                    'longitude': o.longitude, 'state': o.state,
                    'photos': [(p.name, len(p.photo)) for p in o.photos],
                    } for o in WorkOrder.search(
                    [('kind', '=', 'fault')], order=[('id', 'ASC')])]

    def building_id(self, name):
        with Transaction().start(DB_NAME, 0):
            location, = Pool().get('meter.location').search(
                [('name', '=', name)])
            return location.id

    def test_home_links(self):
        "Home links to the fault report, the list and the installation"
        client = self.logged_in()
        page = client.get(self.url(''))
        for page_name, text in [
                ('fault', '故障上报'), ('faults', '我的上报'),
                ('install', '新装登记')]:
            self.assertIn(
                'href="/%s/field/%s"' % (quote(DB_NAME), page_name),
                page.text)
            self.assertIn(text, page.text)

    def test_fault_on_meter(self):
        "From the card the form names the meter; the fault is on it"
        client = self.logged_in()
        card = client.get(self.url('m/6903001'))
        self.assertIn('/field/fault?meter=6903001', card.text)
        # Refused with the meter's building chosen instead: the meter is
        # still offered
        token = self.token(client, 'fault?meter=6903001')
        response = client.post(self.url('fault'), data={
                'csrf_token': token, 'where': 'building', 'location': '',
                'meter': '6903001', 'description': "漏水"})
        self.assertEqual(response.status_code, 400, response.text)
        self.assertIn('name="meter" value="6903001"', response.text)
        self.assertIn('value="building" id="where-building" checked',
            response.text)
        form = client.get(self.url('fault?meter=6903001'))
        self.assertEqual(form.status_code, 200, form.text)
        self.assertIn('表计 E-3001', form.text)
        self.assertIn('name="meter" value="6903001"', form.text)
        self.assertIn('value="meter" id="where-meter" checked', form.text)
        before = len(self.faults())
        response = client.post(self.url('fault'), data={
                'csrf_token': CSRF.search(form.text).group(1),
                'back': 'fault', 'where': 'meter', 'meter': '6903001',
                'description': "水表表盘破裂，漏水",
                'photo': [(io.BytesIO(image()), 'a.jpg'),
                    (io.BytesIO(image((10, 200, 10))), 'b.jpg')]})
        self.assertEqual(response.status_code, 302, response.text)
        self.assertEqual(len(self.faults()), before + 1)
        fault = self.faults()[-1]
        self.assertEqual(
            (fault['meter'], fault['location'], fault['campus'],
                fault['reporter'], fault['state'], fault['description']),
            ('E-3001', None, 'E', 'field1', 'open', "水表表盘破裂，漏水"))
        self.assertIn('E-3001', fault['subject'])
        self.assertEqual([n for n, _ in fault['photos']], ['a.jpg', 'b.jpg'])
        self.assertTrue(all(size > 1000 for _, size in fault['photos']))
        location = unquote(response.headers['Location'])
        self.assertEqual(parse_qs(urlsplit(location).query)['reported'],
            [fault['number']])
        page = client.get(location)
        self.assertIn('故障已上报，工单号 %s' % fault['number'], page.text)
        self.assertIn('照片 2 张', page.text)

    def test_photos_in_wechat(self):
        """Inside WeChat the page asks the JS-SDK for chooseImage; the
        photos it uploaded to WeChat (one media_id each) are downloaded
        with the files taken"""
        client = self.logged_in()
        form = client.get(self.url('fault'), headers=IN_WECHAT)
        self.assertEqual(form.status_code, 200, form.text)
        self.assertIn('class="weui-cell fault-photos" data-max="6" '
            'data-wx=', form.text)
        self.assertIn('photo-choose', form.text)
        self.api.add_media('fault-media-1', image((200, 200, 0)))
        self.api.add_media('fault-media-2', image((0, 200, 200)))
        response = client.post(self.url('fault'), headers=IN_WECHAT, data={
                'csrf_token': CSRF.search(form.text).group(1),
                'where': 'place', 'place': "北门", 'description': "路灯不亮",
                'media_id': ['fault-media-1', 'fault-media-2'],
                'photo': (io.BytesIO(image()), 'c.jpg')})
        self.assertEqual(response.status_code, 302, response.text)
        fault = self.faults()[-1]
        self.assertEqual([n for n, _ in fault['photos']],
            ['c.jpg', 'fault-media-1.jpg', 'fault-media-2.jpg'])
        before = len(self.faults())
        response = client.post(self.url('fault'), headers=IN_WECHAT, data={
                'csrf_token': CSRF.search(form.text).group(1),
                'where': 'place', 'place': "北门", 'description': "路灯不亮",
                'media_id': ['fault-media-1', 'no-such-media']})
        self.assertEqual(response.status_code, 400, response.text)
        self.assertIn('照片下载失败', response.text)
        self.assertEqual(len(self.faults()), before)

    def test_fault_on_building(self):
        "A fault on a building of their campuses, chosen in the list"
        client = self.logged_in()
        token = self.token(client, 'fault')
        form = client.get(self.url('fault'))
        # The buildings of their campus only, not a room
        self.assertIn('一号楼', form.text)
        self.assertNotIn('西一楼', form.text)
        self.assertNotIn('一号楼101室', form.text)
        response = client.post(self.url('fault'), data={
                'csrf_token': token, 'where': 'building',
                'location': str(self.building_id("一号楼")),
                # What the other choices held is not taken
                'place': "不要", 'meter': '',
                'description': "楼道配电箱冒烟",
                'photo': (io.BytesIO(image()), 'box.jpg')})
        self.assertEqual(response.status_code, 302, response.text)
        fault = self.faults()[-1]
        self.assertEqual(
            (fault['location'], fault['campus'], fault['meter'],
                fault['place'], len(fault['photos'])),
            ("一号楼", 'E', None, None, 1))

    def test_fault_at_place_with_gps(self):
        "A place described, with the phone's position, and no photo"
        client = self.logged_in()
        token = self.token(client, 'fault')
        response = client.post(self.url('fault'), data={
                'csrf_token': token, 'where': 'place',
                'place': "图书馆东侧井盖", 'latitude': '31.2304567',
                'longitude': '121.4737012', 'description': "井盖缺失"})
        self.assertEqual(response.status_code, 302, response.text)
        fault = self.faults()[-1]
        self.assertEqual(
            (fault['place'], fault['latitude'], fault['longitude'],
                fault['location'], fault['campus'], fault['photos']),
            ("图书馆东侧井盖", Decimal('31.230457'), Decimal('121.473701'),
                None, None, []))
        self.assertIn("图书馆东侧井盖", fault['subject'])

    def test_refused_keeps_typed(self):
        """An empty description, a bad photo, no place or a bad position
        are refused in Chinese with what was typed, nothing stored"""
        client = self.logged_in()
        token = self.token(client, 'fault')
        before = len(self.faults())
        building = str(self.building_id("一号楼"))
        for data, message in [
                ({'description': ' ', 'where': 'place',
                        'place': "东门岗亭"}, '请描述故障'),
                ({'description': "电表烧毁", 'where': 'building',
                        'location': building,
                        'photo': (io.BytesIO(b'not an image'), 'x.jpg')},
                    '照片'),
                ({'description': "电表烧毁", 'where': 'building',
                        'location': building,
                        'photo': (io.BytesIO(image(size=(100, 80))),
                            'small.jpg')}, '照片'),
                ({'description': "电表烧毁", 'where': 'place'},
                    '请说明故障位置'),
                ({'description': "电表烧毁", 'where': 'place',
                        'place': "东门岗亭", 'latitude': '95',
                        'longitude': '121'}, '纬度'),
                ({'description': "电表烧毁", 'where': 'place',
                        'place': "东门岗亭",
                        'photo': [(io.BytesIO(image()), '%d.jpg' % i)
                            for i in range(7)]}, '最多'),
                ]:
            with self.subTest(message=message):
                response = client.post(self.url('fault'),
                    data=dict(data, csrf_token=token))
                self.assertEqual(response.status_code, 400, response.text)
                self.assertIn(message, response.text)
                self.assertIn('请重新拍摄', response.text)
                if data['description'].strip():
                    self.assertIn('>%s</textarea>' % data['description'],
                        response.text)
                if data.get('place'):
                    self.assertIn('value="%s"' % data['place'],
                        response.text)
                if data.get('location'):
                    self.assertIn('value="%s" selected' % building,
                        response.text)
        self.assertEqual(len(self.faults()), before)

    def test_other_campus(self):
        "A meter or a building of another campus answers 404"
        client = self.logged_in()
        token = self.token(client, 'fault')
        before = len(self.faults())
        self.assertEqual(
            client.get(self.url('fault?meter=6904001')).status_code, 404)
        for data in [
                {'where': 'meter', 'meter': '6904001'},
                {'where': 'meter', 'meter': 'W-4001'},
                {'where': 'building',
                    'location': str(self.building_id("西一楼"))},
                # A room is no building to report on
                {'where': 'building',
                    'location': str(self.building_id("一号楼101室"))},
                {'where': 'building', 'location': '999999999999'},
                ]:
            with self.subTest(data=data):
                response = client.post(self.url('fault'), data=dict(data,
                        csrf_token=token, description="故障",
                        photo=(io.BytesIO(image()), 'a.jpg')))
                self.assertEqual(response.status_code, 404, response.text)
        self.assertEqual(len(self.faults()), before)

    def test_csrf(self):
        "The form needs the session's token"
        client = self.logged_in()
        before = len(self.faults())
        for token in [None, 'forged']:
            data = {'where': 'place', 'place': "东门",
                'description': "无令牌"}
            if token:
                data['csrf_token'] = token
            response = client.post(self.url('fault'), data=data)
            self.assertEqual(response.status_code, 403)
        self.assertEqual(len(self.faults()), before)

    def test_expired_session_keeps_typed(self):
        "A fault posted after the session expired comes back after login"
        client = self.client()
        response = client.post(self.url('fault'), data={
                'csrf_token': 'stale', 'back': 'fault', 'where': 'place',
                'place': "南门", 'description': "路灯线路裸露",
                'photo': (io.BytesIO(image()), 'a.jpg')})
        self.assertEqual(response.status_code, 200)
        self.assertIn('登录已过期', response.text)
        token = CSRF.search(response.text).group(1)
        next_ = re.search(r'name="next" value="([^"]+)"', response.text)
        response = client.post(self.url('login'), data={
                'csrf_token': token, 'login': 'field1',
                'password': PASSWORD,
                'next': next_.group(1).replace('&amp;', '&')})
        self.assertEqual(response.status_code, 302)
        page = client.get(unquote(response.headers['Location']))
        self.assertEqual(page.status_code, 200, page.text)
        self.assertIn('>路灯线路裸露</textarea>', page.text)
        self.assertIn('value="南门"', page.text)
        self.assertIn('value="place" id="where-place" checked', page.text)

    def test_list_only_own(self):
        "我的上报 lists the faults the staff reported, not another's"
        client = self.logged_in()
        token = self.token(client, 'fault')
        response = client.post(self.url('fault'), data={
                'csrf_token': token, 'where': 'place', 'place': "操场",
                'description': "一号上报的跳闸"})
        self.assertEqual(response.status_code, 302, response.text)
        page = client.get(self.url('faults'))
        self.assertEqual(page.status_code, 200)
        self.assertIn("一号上报的跳闸", page.text)
        self.assertNotIn("二号上报的漏水", page.text)
        self.assertIn('待处理', page.text)
        mine = [f for f in self.faults() if f['reporter'] == 'field1']
        self.assertEqual(page.text.count('class="weui-cell fault-order"'),
            len(mine))
        other = self.logged_in('field2')
        page = other.get(self.url('faults'))
        self.assertIn("二号上报的漏水", page.text)
        self.assertNotIn("一号上报的跳闸", page.text)


