"""The field staff's pages of on-site meter management through the Tryton
WSGI application: the verification of a meter against its record, its
position from the phone, a new installation in draft and a replacement
with two photos, as the staff's Tryton user with the campus record
rules."""
import io
import unittest
from decimal import Decimal
from urllib.parse import unquote

from PIL import Image

from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

from .tools import CSRF, FieldTestCase, PASSWORD



def image(color=(200, 30, 30), size=(640, 480)):
    data = io.BytesIO()
    Image.new('RGB', size, color).save(data, 'JPEG')
    return data.getvalue()


class FieldOnsiteTestCase(FieldTestCase):
    "Test the on-site meter management pages"

    @classmethod
    def setUpDatabase(cls):
        pool = Pool()
        Campus = pool.get('meter.campus')
        Location = pool.get('meter.location')
        Account = pool.get('meter.account')
        Meter = pool.get('meter.meter')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        east = Campus(name="东校区", code='E')
        east.save()
        west = Campus(name="西校区", code='W')
        west.save()
        Location(name="一号楼", campus=east).save()
        Location(name="西一楼", campus=west).save()
        for campus, number, barcode in [
                (east, 'E-1001', '6901001'), (east, 'E-1002', None),
                (east, 'E-1003', '6901003'), (west, 'W-2001', '6902001')]:
            account = Account(number='A' + number, name="住户" + number,
                category='resident', campus=campus)
            account.save()
            Meter(number=number, barcode=barcode, kind='electricity',
                account=account, campus=campus, digits=6, decimals=0,
                multiplier=Decimal(1), initial_value=Decimal(0),
                comm_address='0000' + number[-4:], seal='S' + number[-4:],
                reading_method='self').save()
        field = ModelData.get_id('meter_base', 'group_field_staff')
        User.create([{
                    'login': 'field1', 'name': "外线一号",
                    'password': PASSWORD, 'groups': [('add', [field])],
                    'meter_campuses': [('add', [east.id])],
                    }])

    def meter(self, number):
        "The meter's values as stored, read as root"
        with Transaction().start(DB_NAME, 0):
            Meter = Pool().get('meter.meter')
            meters = Meter.search([('number', '=', number)])
            if not meters:
                return None
            meter, = meters
            return {name: getattr(meter, name) for name in [
                    'state', 'latitude', 'longitude', 'position_accuracy',
                    'barcode', 'seal', 'digits', 'multiplier',
                    'initial_value', 'install_photo', 'kind', 'place']} | {
                'located_by': meter.located_by and meter.located_by.login,
                'verified_by': meter.verified_by and meter.verified_by.login,
                'installed_by': (
                    meter.installed_by and meter.installed_by.login),
                'location': meter.location and meter.location.name,
                'campus': meter.campus.code,
                'located_at': meter.located_at,
                'verified_at': meter.verified_at,
                }

    def work_orders(self):
        with Transaction().start(DB_NAME, 0):
            WorkOrder = Pool().get('meter.work_order')
            return [(o.subject, o.description, o.campus.code,
                    len(o.photos), o.kind) for o in WorkOrder.search([])]

    def test_card_links_to_management(self):
        "The meter's card leads to its management page"
        client = self.logged_in()
        response = client.get(self.url('m/6901001'))
        self.assertIn('/field/m/6901001/manage', response.text)
        response = client.get(self.url('m/6901001/manage'))
        self.assertEqual(response.status_code, 200, response.text)
        for text in ['表计管理', 'E-1001', 'S1001', '00001001',
                '核对表计信息', '用手机定位标记位置', '换表', '登记新装表计']:
            self.assertIn(text, response.text)

    def test_other_campus_not_found(self):
        "Every management page of a meter of another campus answers 404"
        client = self.logged_in()
        orders = len(self.work_orders())
        token = self.token(client, 'm/E-1002/manage')
        for page in ['manage', 'verify', 'replace']:
            with self.subTest(page=page):
                self.assertEqual(
                    client.get(self.url('m/W-2001/' + page)).status_code,
                    404)
        for page, data in [
                ('position', {'latitude': '31', 'longitude': '121',
                        'accuracy': '5'}),
                ('verify', {'ok_number': '1', 'ok_barcode': '1',
                        'ok_comm_address': '1', 'barcode': 'X'}),
                ('replace', {'final_value': '5', 'number': 'W-9',
                        'initial_value': '0'}),
                ]:
            with self.subTest(page=page):
                response = client.post(self.url('m/6902001/' + page),
                    data=dict(data, csrf_token=token))
                self.assertEqual(response.status_code, 404)
        west = self.meter('W-2001')
        self.assertEqual((west['state'], west['latitude']), ('active', None))
        self.assertEqual(len(self.work_orders()), orders)

    def test_csrf(self):
        "The management forms need the session's token"
        client = self.logged_in()
        for page, data in [
                ('m/E-1002/position', {'latitude': '31',
                        'longitude': '121', 'accuracy': '5'}),
                ('m/E-1002/verify', {'ok_number': '1'}),
                ('m/E-1002/replace', {'final_value': '5'}),
                ('install', {'number': 'E-X'}),
                ]:
            with self.subTest(page=page):
                response = client.post(self.url(page), data=data)
                self.assertEqual(response.status_code, 403)
        self.assertIsNone(self.meter('E-1002')['latitude'])
        self.assertIsNone(self.meter('E-X'))

    def test_position(self):
        "The phone's position is stored on the meter with who and when"
        client = self.logged_in()
        token = self.token(client, 'm/E-1002/manage')
        response = client.post(self.url('m/E-1002/position'), data={
                'csrf_token': token, 'latitude': '31.2304567',
                'longitude': '121.4737012', 'accuracy': '14.6'})
        self.assertEqual(response.status_code, 302, response.text)
        self.assertTrue(unquote(response.headers['Location']).endswith(
                '/field/m/E-1002/manage?done=located'))
        meter = self.meter('E-1002')
        self.assertEqual((meter['latitude'], meter['longitude']),
            (Decimal('31.230457'), Decimal('121.473701')))
        self.assertEqual(meter['position_accuracy'], 15)
        self.assertEqual(meter['located_by'], 'field1')
        self.assertTrue(meter['located_at'])
        page = client.get(unquote(response.headers['Location']))
        self.assertIn('位置已更新', page.text)
        self.assertIn('31.230457', page.text)

    def test_position_refused(self):
        "A missing or inaccurate position is refused in Chinese"
        client = self.logged_in()
        token = self.token(client, 'm/E-1003/manage')
        for data, message in [
                ({}, '没有得到手机的位置'),
                ({'latitude': 'abc', 'longitude': '121'}, '没有得到手机的位置'),
                ({'latitude': '95', 'longitude': '121'}, '经纬度无效'),
                ({'latitude': '31', 'longitude': '121', 'accuracy': '1500'},
                    '1500'),
                ]:
            with self.subTest(data=data):
                response = client.post(self.url('m/E-1003/position'),
                    data=dict(data, csrf_token=token))
                self.assertEqual(response.status_code, 400, response.text)
                self.assertIn(message, response.text)
        self.assertIsNone(self.meter('E-1003')['latitude'])

    def test_verify_all_match(self):
        "A meter found as recorded keeps its verification, no work order"
        client = self.logged_in()
        orders = len(self.work_orders())
        token = self.token(client, 'm/E-1001/verify')
        response = client.post(self.url('m/E-1001/verify'), data={
                'csrf_token': token, 'ok_number': '1', 'ok_barcode': '1',
                'ok_comm_address': '1',
                # Typed as recorded is a match too
                'seal': 'S1001'})
        self.assertEqual(response.status_code, 302, response.text)
        self.assertIn('done=verified', response.headers['Location'])
        meter = self.meter('E-1001')
        self.assertEqual(meter['verified_by'], 'field1')
        self.assertTrue(meter['verified_at'])
        self.assertEqual(len(self.work_orders()), orders)
        page = client.get(unquote(response.headers['Location']))
        self.assertIn('现场与档案一致', page.text)

    def test_verify_mismatch_work_order(self):
        "What is found unlike the record becomes a work order"
        client = self.logged_in()
        orders = len(self.work_orders())
        token = self.token(client, 'm/E-1002/verify')
        response = client.post(self.url('m/E-1002/verify'), data={
                'csrf_token': token, 'ok_number': '1',
                'barcode': '6909999', 'ok_comm_address': '1',
                'seal': 'S7777', 'note': "封印已更换",
                'photo': (io.BytesIO(image()), 'seal.jpg')})
        self.assertEqual(response.status_code, 302, response.text)
        self.assertIn('done=reported', response.headers['Location'])
        self.assertEqual(len(self.work_orders()), orders + 1)
        (subject, description, campus, photos, kind), = [
            o for o in self.work_orders() if 'E-1002' in o[0]]
        self.assertEqual(kind, 'meter_mismatch')
        self.assertIn('E-1002', subject)
        self.assertEqual(campus, 'E')
        self.assertEqual(photos, 1)
        self.assertIn('6909999', description)
        self.assertIn('S1002', description)
        self.assertIn('S7777', description)
        self.assertIn('封印已更换', description)
        self.assertNotIn('00001002', description)
        meter = self.meter('E-1002')
        # Not verified, and the record is the office's to correct
        self.assertIsNone(meter['verified_at'])
        self.assertEqual((meter['barcode'], meter['seal']), (None, 'S1002'))
        page = client.get(unquote(response.headers['Location']))
        self.assertIn('已生成工单 GD', page.text)

    def test_verify_unanswered_keeps_form(self):
        "A field neither confirmed nor typed is refused; the form is kept"
        client = self.logged_in()
        orders = len(self.work_orders())
        token = self.token(client, 'm/E-1001/verify')
        response = client.post(self.url('m/E-1001/verify'), data={
                'csrf_token': token, 'ok_number': '1',
                'barcode': '6908888', 'note': "标签模糊"})
        self.assertEqual(response.status_code, 400, response.text)
        self.assertIn('请确认或填写', response.text)
        self.assertIn('通信地址', response.text)
        self.assertIn('value="6908888"', response.text)
        self.assertIn('标签模糊', response.text)
        self.assertRegex(response.text, r'id="ok_number" value="1" checked')
        self.assertEqual(len(self.work_orders()), orders)

    def test_install(self):
        "A new meter is recorded in draft with its photo and initial value"
        client = self.logged_in()
        response = client.get(self.url('install'))
        self.assertEqual(response.status_code, 200)
        self.assertIn('东校区', response.text)
        self.assertNotIn('西校区', response.text)
        self.assertIn('一号楼', response.text)
        self.assertNotIn('西一楼', response.text)
        with Transaction().start(DB_NAME, 0):
            Location = Pool().get('meter.location')
            location, = Location.search([('name', '=', "一号楼")])
            campus = location.campus.id
            location = location.id
        token = CSRF.search(response.text).group(1)
        photo = image()
        response = client.post(self.url('install'), data={
                'csrf_token': token, 'number': 'E-NEW1', 'kind': 'water',
                'campus': str(campus), 'location': str(location),
                'place': "地下室", 'barcode': '6907777', 'seal': 'S-N1',
                'multiplier': '1', 'digits': '5', 'initial_value': '12.5',
                'photo': (io.BytesIO(photo), 'new.jpg')})
        self.assertEqual(response.status_code, 302, response.text)
        self.assertTrue(unquote(response.headers['Location']).endswith(
                '/field/m/6907777/manage?done=installed'))
        meter = self.meter('E-NEW1')
        self.assertEqual(
            (meter['state'], meter['kind'], meter['campus'],
                meter['location'], meter['place'], meter['digits'],
                meter['initial_value'], meter['installed_by']),
            ('draft', 'water', 'E', "一号楼", "地下室", 5, Decimal('12.5'),
                'field1'))
        self.assertEqual(meter['install_photo'], photo)
        page = client.get(unquote(response.headers['Location']))
        self.assertIn('待办公室确认', page.text)
        # A draft meter is not read on its card
        self.assertNotIn('提交读数', client.get(self.url('m/6907777')).text)

    def test_install_refused_keeps_form(self):
        "A refused installation says why and keeps what was typed"
        client = self.logged_in()
        token = self.token(client, 'install')
        with Transaction().start(DB_NAME, 0):
            Campus = Pool().get('meter.campus')
            east, = Campus.search([('code', '=', 'E')])
            west, = Campus.search([('code', '=', 'W')])
            east, west = str(east.id), str(west.id)
        base = {'csrf_token': token, 'number': 'E-NEW2', 'kind': 'water',
            'campus': east, 'multiplier': '1', 'digits': '5',
            'initial_value': '3', 'place': "楼顶水箱"}
        for data, message in [
                ({'photo': None}, '照片'),
                ({'photo': (io.BytesIO(b'GIF89a no'), 'x.gif')}, '照片'),
                ({'number': ''}, '表号'),
                ({'initial_value': 'abc'}, 'abc'),
                ({'digits': '40'}, '40'),
                ({'campus': west}, '校区'),
                ({'number': 'E-1001'}, '已存在'),
                ]:
            with self.subTest(data=data):
                form = {**base, 'photo': (io.BytesIO(image()), 'new.jpg'),
                    **data}
                if form['photo'] is None:
                    del form['photo']
                response = client.post(self.url('install'), data=form)
                self.assertEqual(response.status_code, 400, response.text)
                self.assertIn(message, response.text)
                self.assertIn('楼顶水箱', response.text)
        self.assertIsNone(self.meter('E-NEW2') and 'E-NEW2 stored')

    def test_replace(self):
        "A replacement closes the old meter and opens the new one"
        client = self.logged_in()
        token = self.token(client, 'm/E-1003/replace')
        old_photo, new_photo = image((200, 30, 30)), image((30, 30, 200))
        response = client.post(self.url('m/E-1003/replace'), data={
                'csrf_token': token, 'final_value': '420',
                'number': 'E-1003N', 'barcode': '6901033',
                'seal': 'S-NEW', 'multiplier': '1', 'digits': '6',
                'initial_value': '2', 'reason': "表计故障",
                'old_photo': (io.BytesIO(old_photo), 'old.jpg'),
                'new_photo': (io.BytesIO(new_photo), 'new.jpg')})
        self.assertEqual(response.status_code, 302, response.text)
        self.assertTrue(unquote(response.headers['Location']).endswith(
                '/field/m/6901033/manage?done=replaced'))
        self.assertEqual(self.meter('E-1003')['state'], 'removed')
        new = self.meter('E-1003N')
        self.assertEqual((new['state'], new['seal'], new['initial_value']),
            ('active', 'S-NEW', Decimal(2)))
        with Transaction().start(DB_NAME, 0):
            Change = Pool().get('meter.change')
            change, = Change.search([('old_meter.number', '=', 'E-1003')])
            self.assertEqual(
                (change.final_value, change.initial_value, change.reason,
                    change.user.login),
                (Decimal(420), Decimal(2), "表计故障", 'field1'))
            self.assertEqual((change.photo, change.new_photo),
                (old_photo, new_photo))
        page = client.get(unquote(response.headers['Location']))
        self.assertIn('换表完成：旧表 E-1003 已拆除', page.text)
        # The old meter can not be replaced again
        response = client.get(self.url('m/E-1003/manage'))
        self.assertNotIn('/replace"', response.text)

    def test_replace_refused_keeps_form(self):
        "A refused replacement writes nothing and keeps what was typed"
        client = self.logged_in()
        token = self.token(client, 'm/E-1001/replace')
        base = {'csrf_token': token, 'final_value': '300',
            'number': 'E-1001N', 'initial_value': '1', 'reason': "更换"}

        def photos(**names):
            return {name: (io.BytesIO(image()), name + '.jpg')
                for name in names}
        for data, message in [
                (photos(new_photo=1), '旧表'),
                (photos(old_photo=1), '新表'),
                (dict(photos(old_photo=1, new_photo=1), number=''), '表号'),
                (dict(photos(old_photo=1, new_photo=1), final_value='x'),
                    '止码'),
                (dict(photos(old_photo=1, new_photo=1), number='E-1002'),
                    '已存在'),
                ]:
            with self.subTest(message=message):
                response = client.post(self.url('m/E-1001/replace'),
                    data={**base, **data})
                self.assertEqual(response.status_code, 400, response.text)
                self.assertIn(message, response.text)
                self.assertIn('更换', response.text)
        self.assertEqual(self.meter('E-1001')['state'], 'active')
        self.assertIsNone(self.meter('E-1001N'))


del FieldTestCase

if __name__ == '__main__':
    unittest.main()
