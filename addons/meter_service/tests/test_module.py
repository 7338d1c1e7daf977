from decimal import Decimal

from sql import Literal

from trytond.model.exceptions import AccessError
from trytond.modules.meter_base.exceptions import PhotoValidationError
from trytond.modules.meter_base.tests.test_photo_size import (
    LARGEST, grey_jpeg, grey_png)
from trytond.modules.meter_service.exceptions import FieldReportError
from trytond.modules.meter_service.migration import (
    models, take_over, xml_ids)
from trytond.modules.meter_service.work_order import MAX_REPORT_PHOTOS
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

MOVED_MODELS = {
    'meter.calendar', 'meter.calendar.day', 'meter.notice',
    'meter.work_order', 'meter.work_order.photo', 'meter.work_order.reply'}


class MeterServiceTestCase(ModuleTestCase):
    "Test Meter Service module"
    module = 'meter_service'

    def order(self, **values):
        pool = Pool()
        WorkOrder = pool.get('meter.work_order')
        values.setdefault('kind', 'repair')
        values.setdefault('subject', "水龙头漏水")
        order, = WorkOrder.create([values])
        return order

    def field_staff(self):
        """Return a field staff user of the east campus, a building and a
        meter there, and a meter of the west campus"""
        pool = Pool()
        Campus = pool.get('meter.campus')
        Location = pool.get('meter.location')
        Account = pool.get('meter.account')
        Meter = pool.get('meter.meter')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        east, west = Campus.create([
                {'name': "东校区", 'code': 'E'},
                {'name': "西校区", 'code': 'W'}])
        building, = Location.create([{
                    'name': "9号楼", 'campus': east.id}])
        meters = []
        for campus, number in [(east, 'E-1001'), (west, 'W-2001')]:
            account, = Account.create([{
                        'number': 'A' + number, 'name': "住户",
                        'category': 'resident', 'campus': campus.id}])
            meter, = Meter.create([{
                        'number': number, 'barcode': '69' + number[2:],
                        'comm_address': '000000' + number[2:],
                        'kind': 'electricity', 'account': account.id,
                        'campus': campus.id, 'location': building.id
                        if campus == east else None,
                        'digits': 6, 'decimals': 0,
                        'multiplier': Decimal(1),
                        'initial_value': Decimal(0)}])
            meters.append(meter)
        user, = User.create([{
                    'login': 'field1', 'name': "外线一号",
                    'groups': [('add', [ModelData.get_id(
                                    'meter_base', 'group_field_staff')])],
                    'meter_campuses': [('add', [east.id])],
                    }])
        return user, building, *meters

    def assertRefused(self, message, function, *args, **kwargs):
        "Check function raises the message and stores no work order"
        WorkOrder = Pool().get('meter.work_order')
        count = WorkOrder.search([], count=True)
        with self.assertRaises(FieldReportError) as cm:
            function(*args, **kwargs)
        self.assertEqual(cm.exception.message, message)
        self.assertEqual(WorkOrder.search([], count=True), count)

    @with_transaction()
    def test_report_fault(self):
        "Test field staff report a fault by meter, building or position"
        pool = Pool()
        WorkOrder = pool.get('meter.work_order')
        Meter = pool.get('meter.meter')
        Location = pool.get('meter.location')
        User = pool.get('res.user')
        staff, building, east_meter, west_meter = self.field_staff()
        with Transaction().set_user(staff.id), \
                Transaction().set_context(_check_access=True):
            user = User(staff.id)
            meter = Meter(east_meter.id)
            order = WorkOrder.report_fault(user, " 电表箱冒烟 ", meter=meter,
                photos=[(grey_jpeg(640, 480), 'box.jpg'),
                    (grey_jpeg(800, 600), 'wire.jpg')])
            self.assertEqual(order.kind, 'fault')
            self.assertEqual(order.description, "电表箱冒烟")
            self.assertEqual(order.subject, "Fault at E-1001")
            self.assertEqual(order.meter, meter)
            self.assertEqual(order.campus, meter.campus)
            self.assertEqual(order.location.id, building.id)
            self.assertEqual(order.account, meter.account)
            self.assertEqual(order.reporter, user)
            self.assertEqual(order.requester, "外线一号")
            self.assertEqual(order.state, 'open')
            self.assertTrue(order.deadline)
            self.assertEqual(sorted(p.name for p in order.photos),
                ['box.jpg', 'wire.jpg'])

            by_position = WorkOrder.report_fault(user, "路灯杆倾斜",
                latitude='30.2741234', longitude=120.15515)
            self.assertEqual(
                (by_position.latitude, by_position.longitude),
                (Decimal('30.274123'), Decimal('120.155150')))
            self.assertEqual(by_position.campus, None)
            by_building = WorkOrder.report_fault(user, "楼道总闸跳闸",
                location=Location(building.id), place="三楼东侧")
            self.assertEqual(by_building.campus, meter.campus)
            self.assertEqual(by_building.place, "三楼东侧")
            self.assertEqual(by_building.subject, "Fault at 9号楼")

            # Their reports are in the service desk's tab for them
            self.assertEqual(
                WorkOrder.search([('reporter', '=', staff.id)],
                    order=[('id', 'ASC')]),
                [order, by_position, by_building])
            self.assertEqual(WorkOrder.search([
                        ('kind', 'in', ['fault', 'meter_mismatch']),
                        ('state', 'in', ['open', 'processing']),
                        ], count=True), 3)

            # A meter of another campus is not theirs to report
            with self.assertRaises(AccessError):
                WorkOrder.report_fault(user, "漏电",
                    meter=Meter(west_meter.id))

    @with_transaction()
    def test_report_fault_refused(self):
        "Test a fault report is refused with its reason, nothing stored"
        pool = Pool()
        WorkOrder = pool.get('meter.work_order')
        User = pool.get('res.user')
        staff, building, meter, _ = self.field_staff()
        with Transaction().set_user(staff.id), \
                Transaction().set_context(_check_access=True):
            user = User(staff.id)
            self.assertRefused("Describe the fault.",
                WorkOrder.report_fault, user, "  ", place="锅炉房")
            self.assertRefused(
                "Say where the fault is: a meter, a building, a place "
                "or the position of the phone.",
                WorkOrder.report_fault, user, "漏水", place=" ")
            position = ("The position must be a latitude between -90 and "
                "90 and a longitude between -180 and 180.")
            for latitude, longitude in [('30.1', None), (None, 120),
                    ('abc', '120'), (91, 120), (30, -180.5),
                    (float('nan'), 120), ('Infinity', 1), ('３０', '120')]:
                with self.subTest(latitude=latitude, longitude=longitude):
                    self.assertRefused(position, WorkOrder.report_fault,
                        user, "漏水", latitude=latitude, longitude=longitude)
            self.assertRefused(
                "A report takes at most %s photos." % MAX_REPORT_PHOTOS,
                WorkOrder.report_fault, user, "漏水", place="锅炉房",
                photos=[(grey_jpeg(640, 480), 'p.jpg')]
                * (MAX_REPORT_PHOTOS + 1))
            for data in [b"no image", grey_jpeg(200, 150)]:
                with self.subTest(data=data[:8]):
                    with self.assertRaises(PhotoValidationError) as cm:
                        WorkOrder.report_fault(user, "漏水", place="锅炉房",
                            photos=[(grey_jpeg(640, 480), 'good.jpg'),
                                (data, 'bad.jpg')])
                    self.assertTrue(cm.exception.message)
            self.assertEqual(WorkOrder.search([], count=True), 0)

    @with_transaction()
    def test_report_meter_mismatch(self):
        "Test field staff report what differs from a meter's record"
        pool = Pool()
        WorkOrder = pool.get('meter.work_order')
        Meter = pool.get('meter.meter')
        staff, _, east_meter, west_meter = self.field_staff()
        with Transaction().set_user(staff.id), \
                Transaction().set_context(_check_access=True):
            meter = Meter(east_meter.id)
            order = WorkOrder.report_meter_mismatch(meter, {
                    'number': meter.number,
                    'barcode': ' 6909999 ',
                    'comm_address': '',
                    'seal': 'QF-0001',
                    }, note="表箱内标签已褪色", photo=grey_jpeg(640, 480))
            self.assertEqual(order.kind, 'meter_mismatch')
            self.assertEqual(order.meter, meter)
            self.assertEqual(order.campus, meter.campus)
            self.assertEqual(order.reporter.id, staff.id)
            self.assertEqual(order.subject,
                "Meter E-1001 differs from its record")
            self.assertEqual(
                (order.found_number, order.found_barcode,
                    order.found_comm_address, order.found_seal),
                (None, '6909999', None, 'QF-0001'))
            self.assertEqual(order.description.splitlines(), [
                    "Barcode On Site: 6909999 (on record: 691001)",
                    "Seal On Site: QF-0001 (on record: -)",
                    "表箱内标签已褪色"])
            self.assertEqual(len(order.photos), 1)
            # The record itself is left for the office to correct
            self.assertEqual(Meter(meter.id).barcode, '691001')

            self.assertRefused(
                'Nothing found on site differs from the record of meter '
                '"E-1001".', WorkOrder.report_meter_mismatch, meter,
                {'number': 'E-1001', 'barcode': '691001'})
            self.assertRefused(
                'Only the number, barcode, communication address and seal '
                'of a meter can be reported as different, not "colour".',
                WorkOrder.report_meter_mismatch, meter, {'colour': 'red'})
            with self.assertRaises(PhotoValidationError):
                WorkOrder.report_meter_mismatch(meter, {'seal': 'QF-2'},
                    photo=(b"no image", 'seal.jpg'))
            with self.assertRaises(AccessError):
                WorkOrder.report_meter_mismatch(
                    Meter(west_meter.id), {'seal': 'QF-3'})

    @with_transaction()
    def test_work_order_photo(self):
        "Test a work order takes a photo of readable size only"
        pool = Pool()
        Photo = pool.get('meter.work_order.photo')
        order = self.order()
        for data in [b"no image", grey_jpeg(200, 150),
                grey_png(LARGEST[0] + 1, LARGEST[1])]:
            with self.subTest(data=data[:8]):
                with self.assertRaises(PhotoValidationError) as cm:
                    Photo.create([{'work_order': order.id, 'photo': data}])
                self.assertTrue(cm.exception.message)
        photo_, = Photo.create([{
                    'work_order': order.id, 'photo': grey_jpeg(640, 480)}])
        with self.assertRaises(PhotoValidationError):
            Photo.write([photo_], {'photo': grey_jpeg(100, 100)})

    def test_migration_reads_own_xml(self):
        "Test the ids and models taken over are the module's own"
        ids = xml_ids('meter_service')
        for fs_id in ['menu_service', 'menu_work_order', 'act_work_order',
                'work_order_view_form', 'calendar_default', 'menu_calendar',
                'act_notice', 'access_meter_notice',
                'msg_appointment_slot_full', 'msg_calendar_day_unique']:
            self.assertIn(fs_id, ids)
        self.assertNotIn('menu_configuration', ids)
        self.assertEqual(models('meter_service'), MOVED_MODELS)

    @with_transaction()
    def test_migration_from_meter_base(self):
        "Test a database of before the move is taken over, nothing doubled"
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        Model = pool.get('ir.model')
        ModelField = pool.get('ir.model.field')
        Translation = pool.get('ir.translation')
        View = pool.get('ir.ui.view')
        Menu = pool.get('ir.ui.menu')
        Reply = pool.get('meter.work_order.reply')
        cursor = Transaction().connection.cursor()
        tables = {
            'data': ModelData.__table__(),
            'model': Model.__table__(),
            'field': ModelField.__table__(),
            'translation': Translation.__table__(),
            'view': View.__table__(),
            }

        order = self.order(photos=[('create', [{
                            'photo': grey_jpeg(640, 480)}])])
        Reply.create([{'work_order': order.id, 'text': "已安排"}])

        def owned():
            "Return the rows of each table by module"
            counts = {}
            for key, table in tables.items():
                cursor.execute(*table.select(
                        table.module, Literal(1), where=table.module.in_(
                            ['meter_base', 'meter_service'])))
                for module, _ in cursor:
                    counts[key, module] = counts.get((key, module), 0) + 1
            return counts

        def totals():
            return {key: len(pool.get(name).search([]))
                for key, name in [('data', 'ir.model.data'),
                    ('translation', 'ir.translation'),
                    ('view', 'ir.ui.view'), ('menu', 'ir.ui.menu')]}

        before, before_totals = owned(), totals()
        self.assertTrue(before['data', 'meter_service'])
        self.assertTrue(before['translation', 'meter_service'])
        # As meter_base owned them before the move
        for table in tables.values():
            cursor.execute(*table.update([table.module], ['meter_base'],
                    where=table.module == 'meter_service'))
        ModelData._get_id_cache.clear()
        with self.assertRaises(KeyError):
            ModelData.get_id('meter_service', 'menu_work_order')

        take_over('meter_service', 'meter_base')

        self.assertEqual(owned(), before)
        self.assertEqual(totals(), before_totals)
        menu = Menu(ModelData.get_id('meter_service', 'menu_work_order'))
        self.assertEqual(menu.parent.id,
            ModelData.get_id('meter_service', 'menu_service'))
        view = View(ModelData.get_id('meter_service', 'work_order_view_form'))
        self.assertEqual(view.module, 'meter_service')
        self.assertIn('<form', view.arch)
        model, = Model.search([('name', '=', 'meter.work_order')])
        self.assertEqual(model.module, 'meter_service')
        order, = pool.get('meter.work_order').search([])
        self.assertEqual((len(order.photos), len(order.replies)), (1, 1))

        # Run again, nothing left to move
        take_over('meter_service', 'meter_base')
        self.assertEqual(owned(), before)


del ModuleTestCase
