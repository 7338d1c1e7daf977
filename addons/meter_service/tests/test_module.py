from sql import Literal

from trytond.modules.meter_base.exceptions import PhotoValidationError
from trytond.modules.meter_base.tests.test_photo_size import (
    LARGEST, grey_jpeg, grey_png)
from trytond.modules.meter_service.migration import (
    models, take_over, xml_ids)
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
