"""The meter managed on site: a meter recorded in draft and confirmed by
the office, its position from a phone, its verification and its
replacement with a photo of each register, as the users who may do each."""
import datetime as dt
import io
import unittest
from decimal import Decimal

from PIL import Image

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError
from trytond.modules.meter_base.exceptions import (
    MeterChangeError, MeterInstallError, MeterPositionError)
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction


def image(color=(200, 30, 30), size=(640, 480)):
    data = io.BytesIO()
    Image.new('RGB', size, color).save(data, 'JPEG')
    return data.getvalue()


class MeterOnsiteTestCase(unittest.TestCase):
    "Test the meter managed on site"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('meter_base')

    def setup_campuses(self):
        pool = Pool()
        Campus = pool.get('meter.campus')
        Meter = pool.get('meter.meter')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        east = Campus(name="East", code='E')
        east.save()
        west = Campus(name="West", code='W')
        west.save()
        meter = Meter(number='E-1', barcode='690001', campus=east, digits=5,
            decimals=0, initial_value=Decimal(0), comm_address='000000000001')
        meter.save()
        field = ModelData.get_id('meter_base', 'group_field_staff')
        admin = ModelData.get_id('meter_base', 'group_meter_admin')
        finance = ModelData.get_id('meter_base', 'group_finance')
        users = User.create([{
                    'login': 'field', 'name': "Field",
                    'groups': [('add', [field])],
                    'meter_campuses': [('add', [east.id])],
                    }, {
                    'login': 'office', 'name': "Office",
                    'groups': [('add', [admin])],
                    }, {
                    'login': 'finance', 'name': "Finance",
                    'groups': [('add', [finance])],
                    }])
        return east, west, meter, {u.login: u for u in users}

    @with_transaction()
    def test_install_draft_then_confirm(self):
        "A meter installed on site waits in draft for the office"
        pool = Pool()
        Meter = pool.get('meter.meter')
        Date = pool.get('ir.date')
        east, west, _, users = self.setup_campuses()
        photo = image()
        with Transaction().set_user(users['field'].id), \
                Transaction().set_context(_check_access=True):
            meter = Meter.install({
                    'number': 'E-NEW', 'kind': 'water', 'campus': east.id,
                    'digits': 5, 'decimals': 0, 'multiplier': Decimal(1),
                    'initial_value': Decimal(12)}, photo)
            self.assertEqual(meter.state, 'draft')
            self.assertEqual(meter.installed_by, users['field'])
            self.assertEqual(meter.install_photo, photo)
            # The centre's day, which is not UTC's from 16:00 UTC
            self.assertEqual(meter.install_date, Date.today())
            with self.assertRaises(UserError):
                # Only the office confirms
                Meter.confirm([meter])
        with Transaction().set_user(users['office'].id), \
                Transaction().set_context(_check_access=True):
            Meter.confirm([Meter(meter.id)])
        self.assertEqual(Meter(meter.id).state, 'active')

    @with_transaction()
    def test_install_rules(self):
        "An installation needs a photo, a campus of the user and the right"
        pool = Pool()
        Meter = pool.get('meter.meter')
        east, west, _, users = self.setup_campuses()
        values = {'number': 'X-1', 'kind': 'electricity', 'digits': 5,
            'decimals': 0, 'multiplier': Decimal(1),
            'initial_value': Decimal(0)}
        with Transaction().set_user(users['field'].id), \
                Transaction().set_context(_check_access=True):
            with self.assertRaises(MeterInstallError):
                Meter.install(dict(values, campus=east.id), None)
            with self.assertRaises(UserError):
                Meter.install(dict(values, campus=east.id), b'not a photo')
            with self.assertRaises(AccessError):
                Meter.install(dict(values, campus=west.id), image())
        with Transaction().set_user(users['finance'].id), \
                Transaction().set_context(_check_access=True):
            with self.assertRaises(AccessError):
                Meter.install(dict(values, campus=east.id), image())

    @with_transaction()
    def test_locate(self):
        "The phone's position is stored with its accuracy, who and when"
        pool = Pool()
        Meter = pool.get('meter.meter')
        _, _, meter, users = self.setup_campuses()
        with Transaction().set_user(users['field'].id), \
                Transaction().set_context(_check_access=True):
            Meter.locate([meter], 31.2304567, 121.4737012, 12.4)
            for args in [(91, 121, 5), (None, 121, 5), (31, 181, 5)]:
                with self.subTest(args=args):
                    with self.assertRaises(MeterPositionError):
                        Meter.locate([meter], *args)
            with self.assertRaises(MeterPositionError) as context:
                Meter.locate([meter], 31.0, 121.0, 850)
            self.assertIn('850', context.exception.message)
        meter = Meter(meter.id)
        self.assertEqual(meter.latitude, Decimal('31.230457'))
        self.assertEqual(meter.longitude, Decimal('121.473701'))
        self.assertEqual(meter.position_accuracy, 12)
        self.assertEqual(meter.located_by, users['field'])
        self.assertTrue(meter.located_at)
        with Transaction().set_user(users['finance'].id), \
                Transaction().set_context(_check_access=True):
            with self.assertRaises(AccessError):
                Meter.locate([meter], 31.0, 121.0, 5)

    @with_transaction()
    def test_mark_verified(self):
        "A meter found as recorded keeps who verified it and when"
        pool = Pool()
        Meter = pool.get('meter.meter')
        _, _, meter, users = self.setup_campuses()
        with Transaction().set_user(users['field'].id), \
                Transaction().set_context(_check_access=True):
            Meter.mark_verified([meter])
        meter = Meter(meter.id)
        self.assertEqual(meter.verified_by, users['field'])
        self.assertTrue(meter.verified_at)

    @with_transaction()
    def test_replace_with_two_photos(self):
        """Field staff replace a meter: the old one closes at its final
        reading, the new one opens at its initial reading, each with its
        photo"""
        pool = Pool()
        Meter = pool.get('meter.meter')
        Reading = pool.get('meter.reading')
        Change = pool.get('meter.change')
        _, _, meter, users = self.setup_campuses()
        old_photo, new_photo = image((200, 30, 30)), image((30, 30, 200))
        changed_at = dt.datetime.now().replace(microsecond=0)
        with Transaction().set_user(users['field'].id), \
                Transaction().set_context(_check_access=True):
            change, = Meter.replace([meter], changed_at, Decimal(321),
                {'number': 'E-2', 'barcode': '690002', 'digits': 6},
                Decimal(3), reason="损坏", photo=old_photo,
                new_photo=new_photo)
        change = Change(change.id)
        old, new = change.old_meter, change.new_meter
        self.assertEqual((old.state, old.replaced_by), ('removed', new))
        self.assertEqual(
            (new.state, new.number, new.barcode, new.digits,
                new.comm_address, new.initial_value),
            ('active', 'E-2', '690002', 6, None, Decimal(3)))
        self.assertEqual((change.photo, change.new_photo),
            (old_photo, new_photo))
        self.assertEqual(change.user, users['field'])
        final, = Reading.search([('meter', '=', old.id)])
        initial, = Reading.search([('meter', '=', new.id)])
        self.assertEqual((final.value, final.state, final.photo),
            (Decimal(321), 'confirmed', old_photo))
        self.assertEqual((initial.value, initial.state, initial.photo),
            (Decimal(3), 'confirmed', new_photo))
        with self.assertRaises(MeterChangeError):
            Meter.replace([old], changed_at, Decimal(1), {'number': 'E-3'},
                Decimal(0))
        with Transaction().set_user(users['finance'].id), \
                Transaction().set_context(_check_access=True):
            with self.assertRaises(AccessError):
                Meter.replace([new], changed_at, Decimal(5),
                    {'number': 'E-4'}, Decimal(0))

    @with_transaction()
    def test_wizard_one_photo_for_both(self):
        "The sao wizard's single photo stands for both registers"
        pool = Pool()
        Change = pool.get('meter.change')
        _, _, meter, _ = self.setup_campuses()
        photo = image()
        change = Change.replace(meter, dt.datetime.now(), Decimal(10),
            {'number': 'E-9'}, Decimal(0), photo=photo)
        self.assertEqual((change.photo, change.new_photo), (photo, photo))

