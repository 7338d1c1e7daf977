# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""A meter recorded on site stays out of the devices' work until the
office confirms it: no import row goes to it, no collector polls it."""
import unittest
from decimal import Decimal

from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction


class DraftMeterTestCase(unittest.TestCase):
    "Test that draft meters are left out of imports and polling"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('meter_devices')

    def _meters(self):
        pool = Pool()
        Campus = pool.get('meter.campus')
        Meter = pool.get('meter.meter')
        campus = Campus(name="Main", code='MAIN')
        campus.save()
        meters = [Meter(number=number, campus=campus, digits=6, decimals=2,
                initial_value=Decimal(0), state=state, handheld_id=handheld,
                comm_address=address, protocol='dlt645_2007')
            for number, state, handheld, address in [
                ('ACTIVE', 'active', 'H001', '000000000001'),
                ('DRAFT', 'draft', 'H002', '000000000002'),
                ('REMOVED', 'removed', 'H003', '000000000003'),
                # A removed meter of the draft's identifier: the reason is
                # that the draft is not confirmed
                ('OLD', 'removed', 'H002', '000000000004'),
                ]]
        Meter.save(meters)
        return meters

    @with_transaction()
    def test_import_rejects_draft_meter(self):
        "A row of a draft meter is rejected: the meter is not confirmed"
        pool = Pool()
        Format = pool.get('meter.import.format')
        Job = pool.get('meter.import.job')
        Reading = pool.get('meter.reading')
        Meter = pool.get('meter.meter')
        self._meters()
        format_ = Format(name="HT-200", source='handheld', file_type='csv',
            identifier_column='meter', value_column='reading',
            date_column='date', date_format='%Y-%m-%d %H:%M')
        format_.save()
        job = Job(format=format_, filename='export.csv', file=(
                "meter,date,reading\n"
                "H001,2026-01-31 08:00,100\n"
                "H002,2026-01-31 08:05,200\n"
                "H003,2026-01-31 08:10,300\n").encode())
        job.save()
        Job.run([job])
        Job.process([job])

        self.assertEqual((job.total, job.created, job.rejected), (3, 1, 2))
        reasons = {line.number: line.reason for line in job.lines}
        # Numbered as the file's lines, the header first
        self.assertEqual(sorted(reasons), [3, 4])
        self.assertIn('"DRAFT"', reasons[3])
        self.assertIn('not confirmed', reasons[3])
        self.assertIn('"REMOVED"', reasons[4])
        self.assertEqual(
            [r.meter.number for r in Reading.search([])], ['ACTIVE'])

        # Confirmed by the office, the meter takes its rows
        draft, = Meter.search([('number', '=', 'DRAFT')])
        Meter.confirm([draft])
        again = Job(format=format_, filename='export2.csv', file=(
                "meter,date,reading\n"
                "H002,2026-02-28 08:05,250\n").encode())
        again.save()
        Job.run([again])
        Job.process([again])
        self.assertEqual((again.created, again.rejected), (1, 0))

    @with_transaction()
    def test_polling_leaves_draft_out(self):
        "A collector does not poll its draft meters"
        pool = Pool()
        Collector = pool.get('meter.collector')
        Meter = pool.get('meter.meter')
        meters = self._meters()
        collector = Collector(code='C1', name="Building 1",
            port='/dev/null', meters=meters)
        collector.save()
        self.assertEqual(
            [r.key for r in collector.poll_requests()], [meters[0].id])
        draft = meters[1]
        Meter.confirm([draft])
        self.assertEqual(
            sorted(r.key for r in Collector(collector.id).poll_requests()),
            sorted([meters[0].id, draft.id]))
