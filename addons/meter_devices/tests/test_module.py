# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
import contextlib
import datetime as dt
import io
import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest.mock import patch

from trytond.exceptions import UserError, UserWarning
from trytond.modules.meter_devices.bus import polling
from trytond.modules.meter_devices.bus.simulator import (
    CJT188Meter, DLT645Meter, Simulator)
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    DB_NAME, ModuleTestCase, with_transaction)
from trytond.transaction import Transaction

D = Decimal


class MeterDevicesTestCase(ModuleTestCase):
    "Test Devices module"
    module = 'meter_devices'

    def _campus(self):
        pool = Pool()
        Campus = pool.get('meter.campus')
        campus = Campus(name="Main", code='MAIN')
        campus.save()
        return campus

    def _meters(self, specs, **values):
        "Create meters from (number, field values) pairs"
        pool = Pool()
        Meter = pool.get('meter.meter')
        campus = self._campus()
        meters = [Meter(number=number, campus=campus,
                **{'digits': 6, 'decimals': 2, **values, **spec})
            for number, spec in specs]
        Meter.save(meters)
        return meters

    # Collectors ----------------------------------------------------------

    def _bus(self):
        return Simulator([
                DLT645Meter('000000001234',
                    values={0x00010000: D('12345.67')}),
                DLT645Meter('000000005678', version='1997',
                    values={0x9010: D('2222.22')}),
                CJT188Meter('12345678901234', flow=D('123.45')),
                CJT188Meter('00000000002018', flow=D('42'),
                    di_order='2018'),
                DLT645Meter('000000009999', mode='silent',
                    values={0x00010000: D('1')}),
                DLT645Meter('000000008888', mode='bad_checksum',
                    values={0x00010000: D('1')}),
                DLT645Meter('000000007777', mode='error', error_code=0x04),
                ])

    def _collector(self, port, meters):
        pool = Pool()
        Collector = pool.get('meter.collector')
        # Linux refuses to set the parity of a pseudo-terminal twice.
        collector = Collector(code='C1', name="Building 1", port=port,
            parity='none', timeout=0.2, retries=1, meters=meters)
        collector.save()
        return collector

    @with_transaction()
    def test_poll_collector(self):
        "Poll a collector through a pseudo-terminal: failures are recorded"
        pool = Pool()
        Collector = pool.get('meter.collector')
        Reading = pool.get('meter.reading')
        simulator = self._bus()
        path = simulator.start_pty()
        self.addCleanup(simulator.stop)
        meters = self._meters([
                ('E2007', {'comm_address': '000000001234',
                        'protocol': 'dlt645_2007'}),
                ('E1997', {'comm_address': '000000005678',
                        'protocol': 'dlt645_1997'}),
                ('W2004', {'comm_address': '12345678901234',
                        'protocol': 'cjt188_2004', 'kind': 'water'}),
                ('W2018', {'comm_address': '00000000002018',
                        'protocol': 'cjt188_2018', 'kind': 'water'}),
                ('SILENT', {'comm_address': '000000009999',
                        'protocol': 'dlt645_2007'}),
                ('BADSUM', {'comm_address': '000000008888',
                        'protocol': 'dlt645_2007'}),
                ('ERROR', {'comm_address': '000000007777',
                        'protocol': 'dlt645_2007'}),
                ('MANUAL', {}),
                ], digits=6)
        collector = self._collector(path, meters[:-1])
        progress = []

        round_, = Collector.poll_collectors([collector],
            progress=lambda done, total, result: progress.append(done))

        self.assertEqual(progress, list(range(1, 8)))
        self.assertEqual(round_.state, 'done')
        self.assertEqual(
            (round_.total, round_.succeeded, round_.failed), (7, 4, 3))
        results = {r.meter.number: r for r in round_.results}
        self.assertEqual(results['E2007'].value, D('12345.67'))
        self.assertEqual(results['W2004'].unit, 'm3')
        self.assertEqual(results['SILENT'].code, 'timeout')
        self.assertEqual(results['SILENT'].attempts, 2)
        self.assertEqual(results['BADSUM'].code, 'checksum')
        self.assertTrue(results['BADSUM'].raw)
        self.assertEqual(results['ERROR'].code, 'meter_error')
        self.assertEqual(results['ERROR'].attempts, 1)
        for number in ['SILENT', 'BADSUM', 'ERROR']:
            self.assertTrue(results[number].message)
            self.assertIsNone(results[number].reading)

        readings = Reading.search([('source', '=', 'collector')])
        self.assertEqual(
            {(r.meter.number, r.value, r.state) for r in readings}, {
                ('E2007', D('12345.67'), 'confirmed'),
                ('E1997', D('2222.22'), 'confirmed'),
                ('W2004', D('123.45'), 'confirmed'),
                ('W2018', D('42'), 'confirmed'),
                })
        self.assertEqual(results['E1997'].reading.consumption, D('2222.22'))
        self.assertEqual({r.submitter for r in readings}, {'C1'})

        # A copy of the collector is a new bus: no meters, no rounds
        copy, = Collector.copy([collector], default={'code': 'C2'})
        self.assertEqual((copy.meters, copy.polls), ((), ()))
        self.assertEqual(len(collector.meters), 7)

    @with_transaction()
    def test_poll_units(self):
        "Flows in litres become readings in m3; other units are refused"
        pool = Pool()
        Collector = pool.get('meter.collector')
        simulator = Simulator([
                CJT188Meter('12345678901234', flow=D('123456.78'),
                    unit='L'),
                CJT188Meter('00000000002018', flow=D('42.5'),
                    di_order='2018'),
                CJT188Meter('20000000000001', meter_type=0x10,
                    flow=D('88.5'), unit='kWh'),
                CJT188Meter('30000000000001', flow=D('1234.5'), unit='L'),
                ])
        path = simulator.start_pty()
        self.addCleanup(simulator.stop)
        water = {'protocol': 'cjt188_2004', 'kind': 'water'}
        meters = self._meters([
                ('LITRES', {'comm_address': '12345678901234', **water}),
                ('CUBIC', {'comm_address': '00000000002018', **water,
                        'protocol': 'cjt188_2018'}),
                ('KWH', {'comm_address': '20000000000001', **water}),
                ('HOT', {'comm_address': '30000000000001', **water,
                        'kind': 'hot_water'}),
                ])
        collector = self._collector(path, meters)
        round_, = Collector.poll_collectors([collector])
        results = {r.meter.number: r for r in round_.results}

        litres = results['LITRES']
        self.assertEqual((litres.value, litres.unit), (D('123456.78'), 'L'))
        # 123456.78 L is 123.45678 m3: the register keeps 3 decimals.
        self.assertEqual(litres.reading.value, D('123.456'))
        self.assertEqual(results['HOT'].reading.value, D('1.234'))
        self.assertEqual(results['CUBIC'].reading.value, D('42.5'))
        energy = results['KWH']
        self.assertFalse(energy.ok)
        self.assertEqual(energy.code, 'unit')
        self.assertIn('kWh', energy.message)
        self.assertIsNone(energy.reading)
        self.assertEqual((round_.succeeded, round_.failed), (3, 1))

    def test_convert_units(self):
        "Conversion of the units meters answer in"
        from trytond.modules.meter_devices import units
        self.assertEqual(units.convert(D('1500'), 'L', 'm3'), D('1.5'))
        self.assertEqual(units.convert(D('2.5'), 'm3', 'L'), D('2500'))
        self.assertEqual(units.convert(D('12.34'), 'MWh', 'kWh'),
            D('12340'))
        self.assertEqual(units.convert(D('1234.5'), 'Wh', 'kWh'),
            D('1.234'))
        self.assertEqual(units.convert(D('7.25'), 'kWh', 'kWh'), D('7.25'))
        for unit, target in [('kWh', 'm3'), ('', 'm3'), ('GJ', 'kWh')]:
            with self.assertRaises(units.UnitError):
                units.convert(D('1'), unit, target)

    def _commit_bus(self, simulator, specs):
        """Create and commit meters and one collector per spec of (code,
        number, meter values): polls in their own transactions see them.
        """
        pool = Pool()
        Collector = pool.get('meter.collector')
        path = simulator.start_pty()
        self.addCleanup(simulator.stop)
        meters = self._meters([(n, v) for _, n, v in specs])
        for (code, _, _), meter in zip(specs, meters):
            Collector(code=code, name=code, port=path, parity='none',
                timeout=0.2, retries=0, meters=[meter]).save()
        Transaction().commit()
        self.addCleanup(self._clean_committed)

    @staticmethod
    def _clean_committed():
        "Remove what a test committed"
        with Transaction().start(DB_NAME, 0) as transaction:
            cursor = transaction.connection.cursor()
            for table in ['meter_collector_poll_result',
                    'meter_collector_poll', 'meter_reading', 'meter_meter',
                    'meter_collector', 'meter_campus']:
                cursor.execute('DELETE FROM %s' % table)
            transaction.commit()

    @with_transaction()
    def test_poll_all_commits_per_collector(self):
        "The cron commits each collector: a failure keeps the others"
        pool = Pool()
        Collector = pool.get('meter.collector')
        simulator = Simulator([
                DLT645Meter('000000001234', values={0x00010000: D('100')}),
                DLT645Meter('000000005678', values={0x00010000: D('200')}),
                ])
        self._commit_bus(simulator, [
                ('C1', 'GOOD', {'comm_address': '000000001234',
                        'protocol': 'dlt645_2007'}),
                ('C2', 'BAD', {'comm_address': '000000005678',
                        'protocol': 'dlt645_2007'}),
                ])
        poll = polling.poll

        def failing_poll(url, requests, **kwargs):
            # The second collector fails after its round was written.
            if any(r.address == '000000005678' for r in requests):
                raise RuntimeError("bus exploded")
            return poll(url, requests, **kwargs)

        with patch.object(polling, 'poll', failing_poll):
            Collector.poll_all()

        with Transaction().new_transaction(readonly=True):
            Poll = pool.get('meter.collector.poll')
            Reading = pool.get('meter.reading')
            rounds = {p.collector.code: p for p in Poll.search([])}
            self.assertEqual(set(rounds), {'C1', 'C2'})
            self.assertEqual(
                (rounds['C1'].state, rounds['C1'].succeeded), ('done', 1))
            self.assertEqual(rounds['C2'].state, 'failed')
            self.assertIn("bus exploded", rounds['C2'].error)
            self.assertEqual(rounds['C2'].results, ())
            self.assertEqual(
                [(r.meter.number, r.value) for r in Reading.search([])],
                [('GOOD', D('100'))])

    def test_poll_command_line(self):
        "The command line polls the collectors with a progress bar"
        from trytond.modules.meter_devices import poll
        simulator = Simulator([
                DLT645Meter('000000001234', values={0x00010000: D('12.5')}),
                DLT645Meter('000000009999', mode='silent'),
                CJT188Meter('12345678901234', flow=D('2500'), unit='L'),
                ])
        with Transaction().start(DB_NAME, 0):
            self._commit_bus(simulator, [
                    ('C1', 'E1', {'comm_address': '000000001234',
                            'protocol': 'dlt645_2007'}),
                    ('C2', 'SILENT', {'comm_address': '000000009999',
                            'protocol': 'dlt645_2007'}),
                    ('C3', 'W1', {'comm_address': '12345678901234',
                            'protocol': 'cjt188_2004', 'kind': 'water'}),
                    ('C4', 'OTHER', {'comm_address': '000000001234',
                            'protocol': 'dlt645_2007'}),
                    ])

        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), \
                contextlib.redirect_stderr(stderr):
            status = poll.main(['-d', DB_NAME, '--collector', 'C1',
                    '--collector', 'C2', '--collector', 'C3'])

        self.assertEqual(status, 0)
        self.assertEqual(stdout.getvalue().splitlines(), [
                "C1: 1 read, 0 failed",
                "C2: 0 read, 1 failed",
                "C3: 1 read, 0 failed",
                ])
        progress = stderr.getvalue()
        self.assertIn('C1: 100%', progress)
        self.assertIn('1/1', progress)
        self.assertIn('failed=1', progress)
        with Transaction().start(DB_NAME, 0, readonly=True):
            Reading = Pool().get('meter.reading')
            self.assertEqual(
                {(r.meter.number, r.value, r.source, r.submitter)
                    for r in Reading.search([])}, {
                    ('E1', D('12.5'), 'collector', 'C1'),
                    ('W1', D('2.5'), 'collector', 'C3'),
                    })

        with contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(stderr):
            self.assertEqual(
                poll.main(['-d', DB_NAME, '--collector', 'NONE']), 2)
        self.assertIn("Unknown collector(s): NONE", stderr.getvalue())

    @with_transaction()
    def test_poll_port_error(self):
        "A collector whose port cannot be opened fails its round only"
        pool = Pool()
        Collector = pool.get('meter.collector')
        meters = self._meters([('E1', {'comm_address': '1',
                        'protocol': 'dlt645_2007'})])
        collector = self._collector('/nonexistent/tty', meters)
        round_, = Collector.poll_collectors([collector])
        self.assertEqual(round_.state, 'failed')
        self.assertTrue(round_.error)
        self.assertEqual(round_.results, ())

    # Imports -------------------------------------------------------------

    def _format(self, **values):
        pool = Pool()
        Format = pool.get('meter.import.format')
        format_ = Format(**{
                'name': "HT-200", 'source': 'handheld', 'file_type': 'csv',
                'identifier_column': 'meter', 'value_column': 'reading',
                'date_column': 'date', 'date_format': '%Y-%m-%d %H:%M',
                **values})
        format_.save()
        return format_

    def _job(self, format_, data, filename='export.csv'):
        pool = Pool()
        Job = pool.get('meter.import.job')
        job = Job(format=format_, file=data, filename=filename)
        job.save()
        return job

    def _run(self, job):
        "Run the job as the queue does after the request"
        pool = Pool()
        Job = pool.get('meter.import.job')
        Job.run([job])
        Job.process([job])

    def _handheld_meters(self):
        return self._meters([
                ('M1', {'handheld_id': 'H001'}),
                ('M2', {'handheld_id': 'H002'}),
                ('M3', {'handheld_id': 'H003', 'digits': 4}),
                ])

    CSV = (
        "meter,date,reading\n"
        "H001,2026-01-31 08:00,100.5\n"
        "H002,2026-01-31 08:05,200\n"
        "H003,2026-01-31 08:10,9990\n"
        "H999,2026-01-31 08:15,1\n"
        "H001,31/01/2026,101\n"
        "H002,2026-02-28 08:00,abc\n"
        "H002,2026-02-28 08:00,-5\n"
        ",2026-02-28 08:00,5\n"
        "H001,2026-02-28 08:00,150.5\n"
        "H003,2026-02-28 08:10,20\n"
        "H002,2026-02-28 08:05,150\n"
        "\n")

    @with_transaction()
    def test_import_handheld_csv(self):
        "Import a handheld CSV: readings, rejected rows, idempotence"
        pool = Pool()
        Job = pool.get('meter.import.job')
        Reading = pool.get('meter.reading')
        self._handheld_meters()
        format_ = self._format()
        job = self._job(format_, self.CSV.encode())
        self._run(job)

        self.assertEqual(job.state, 'done')
        self.assertEqual(
            (job.total, job.created, job.duplicates, job.rejected),
            (11, 6, 0, 5))
        self.assertEqual(job.confirmed, 5)
        self.assertEqual(len(job.file_hash), 64)
        reasons = {l.number: l.reason for l in job.lines}
        self.assertEqual(sorted(reasons), [5, 6, 7, 8, 9])
        self.assertIn('H999', reasons[5])
        self.assertIn('31/01/2026', reasons[6])
        self.assertIn('abc', reasons[7])
        self.assertIn('-5', reasons[8])
        self.assertEqual(job.lines[0].raw, 'H999,2026-01-31 08:15,1')

        readings = Reading.search([('source', '=', 'handheld')],
            order=[('meter.number', 'ASC'), ('taken_at', 'ASC')])
        self.assertEqual(
            [(r.meter.number, r.value, r.consumption, r.state, r.anomalies)
                for r in readings], [
                ('M1', D('100.5'), D('100.5'), 'confirmed', ()),
                ('M1', D('150.5'), D('50'), 'confirmed', ()),
                ('M2', D('200'), D('200'), 'confirmed', ()),
                ('M2', D('150'), None, 'draft', ('lower',)),
                ('M3', D('9990'), D('9990'), 'confirmed', ()),
                ('M3', D('20'), D('30'), 'confirmed', ()),
                ])
        self.assertTrue(readings[-1].rollover)

        # The same file again: a warning, then only duplicates.
        again = self._job(format_, self.CSV.encode())
        with self.assertRaises(UserWarning):
            Job.run([again])
        with Transaction().set_context(_skip_warnings=True):
            self._run(again)
        self.assertEqual(
            (again.total, again.created, again.duplicates, again.rejected),
            (11, 0, 6, 5))
        self.assertEqual(Reading.search([], count=True), 6)

    @with_transaction()
    def test_import_through_pool(self):
        "An import creates its readings through the pool's create_bulk"
        pool = Pool()
        Reading = pool.get('meter.reading')
        self._handheld_meters()
        job = self._job(self._format(), self.CSV.encode())
        create_bulk = Reading.create_bulk.__func__
        marked = []

        def create_bulk_marked(cls, rows, source, **kwargs):
            # As a module extending meter.reading would: the batch after
            # super(), set-based through the result's domain.
            result = create_bulk(cls, rows, source, **kwargs)
            marked.extend(cls.search(result.domain))
            return result

        Reading.create_bulk = classmethod(create_bulk_marked)
        try:
            self._run(job)
        finally:
            del Reading.create_bulk
        self.assertEqual(job.created, 6)
        self.assertEqual(sorted(r.id for r in marked), sorted(
                r.id for r in Reading.search([('source', '=', 'handheld')])))

    @with_transaction()
    def test_import_txt_gbk(self):
        "A text export in GB 18030 with blanks between columns"
        pool = Pool()
        self._handheld_meters()
        format_ = self._format(file_type='txt', delimiter='space',
            encoding='gb18030', header_rows=2, identifier_column='1',
            date_column='2', time_column='3', value_column='4',
            date_format='%Y%m%d %H%M')
        # Without a zone of its own, the file is on the centre's clock
        self.assertEqual(format_.layout.timezone, 'Asia/Shanghai')
        data = ("抄表器导出 HT-200\n表号 日期 时间 读数\n"
            "H001   20260131  0800   12.5\n"
            "H002 20260131\n").encode('gb18030')
        job = self._job(format_, data, 'export.txt')
        self._run(job)
        self.assertEqual((job.created, job.rejected), (1, 1))
        reading, = pool.get('meter.reading').search([])
        # 08:00 in Shanghai is midnight UTC.
        self.assertEqual(reading.taken_at, dt.datetime(2026, 1, 31, 0, 0))
        self.assertIn('4', job.lines[0].reason)
        format_.timezone = 'UTC'
        format_.save()
        self.assertEqual(format_.layout.timezone, 'UTC')

    @with_transaction()
    def test_import_xlsx(self):
        "An Excel export with dates as cells"
        import openpyxl
        self._handheld_meters()
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        sheet.append(['meter', 'date', 'reading'])
        sheet.append(['H001', dt.datetime(2026, 1, 31, 8), 10.25])
        sheet.append(['H002', '2026-01-31 09:00', 20])
        sheet.append(['H003', 'yesterday', 30])
        data = io.BytesIO()
        workbook.save(data)
        format_ = self._format(file_type='xlsx', date_format='')
        job = self._job(format_, data.getvalue(), 'export.xlsx')
        self._run(job)
        self.assertEqual((job.total, job.created, job.rejected), (3, 2, 1))
        self.assertIn('yesterday', job.lines[0].reason)

        bad = self._job(format_, b'not a workbook', 'bad.xlsx')
        self._run(bad)
        self.assertEqual(bad.state, 'failed')
        self.assertEqual(bad.error,
            "The file is not a valid Excel (XLSX) workbook.")

    @with_transaction()
    def test_import_missing_column(self):
        "A header without the configured column fails the whole file"
        pool = Pool()
        Reading = pool.get('meter.reading')
        self._handheld_meters()
        format_ = self._format(value_column='value')
        job = self._job(format_, self.CSV.encode())
        self._run(job)
        self.assertEqual(job.state, 'failed')
        self.assertEqual(job.error,
            'The column "value" is not in the header of the file.')
        self.assertEqual(Reading.search([], count=True), 0)

    @with_transaction()
    def test_import_crash_midway(self):
        "A file failing after good rows leaves nothing written"
        pool = Pool()
        Job = pool.get('meter.import.job')
        Line = pool.get('meter.import.job.line')
        Reading = pool.get('meter.reading')
        self._handheld_meters()
        format_ = self._format()
        data = (self.CSV.encode() * 50) + b'H001,2026-03-31 08:00,\xff\xfe\n'
        job = self._job(format_, data)
        # The stored file is read as a stream, not loaded whole.
        with job.open_file() as file:
            self.assertIsInstance(file, io.BufferedReader)
        self._run(job)
        self.assertEqual(Reading.search([], count=True), 0)
        self.assertEqual(Line.search([], count=True), 0)
        # The job says why, for the operator to see in the client.
        job = Job(job.id)
        self.assertEqual(job.state, 'failed')
        self.assertIn('utf-8', job.error)
        self.assertEqual((job.total, job.created), (None, None))

        # The transaction goes on: the same rows without the bad one.
        good = self._job(format_, self.CSV.encode())
        self._run(good)
        self.assertEqual((good.created, good.rejected), (6, 5))

    @with_transaction()
    def test_import_failed_job(self):
        "A file that cannot be read fails its job with the reason, retried"
        pool = Pool()
        Job = pool.get('meter.import.job')
        Reading = pool.get('meter.reading')
        self._handheld_meters()
        format_ = self._format()
        header = b'meter,date,reading\n'
        for name, data, error in [
                ('encoding', header + b'H001,2026-01-31 08:00,\xff\n',
                    'The file cannot be read with the encoding "utf-8-sig".'),
                ('column', b'meter,date\nH001,2026-01-31 08:00\n',
                    'The column "reading" is not in the header of the file.'),
                ('long cell', header + b'H001,2026-01-31 08:00,"'
                    + b'1' * 200000 + b'"\n',
                    'The file is not a valid CSV or text file.'),
                ('not a CSV', b'\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff',
                    'The file cannot be read with the encoding "utf-8-sig".'),
                ]:
            with self.subTest(name=name):
                job = self._job(format_, data)
                self._run(job)
                job = Job(job.id)
                self.assertEqual((job.state, job.error), ('failed', error))
                self.assertIsNone(job.created)
                self.assertEqual(job.lines, ())
        self.assertEqual(Reading.search([], count=True), 0)

        # Reset to draft, the job takes a corrected file and runs again.
        self.assertEqual(
            Job.search([('state', '=', 'failed')], count=True), 4)
        Job.draft([job])
        self.assertEqual((job.state, job.error), ('draft', None))
        job.file = header + b'H001,2026-01-31 08:00,12.5\n'
        job.save()
        self._run(job)
        self.assertEqual((job.state, job.error, job.created),
            ('done', None, 1))

    @with_transaction()
    def test_import_rows_out_of_range(self):
        "Dates, values and digits no meter shows are rejected row by row"
        pool = Pool()
        Import = pool.get('meter.import', type='wizard')
        Reading = pool.get('meter.reading')
        self._handheld_meters()
        # The file is on the centre's clock, east of UTC.
        format_ = self._format()
        self.assertEqual(format_.layout.timezone, 'Asia/Shanghai')
        data = (
            "meter,date,reading\n"
            "H001,0001-01-01 00:00,5\n"
            "H001,2026-01-31 08:00,99999999999999999999999\n"
            "H001,2026-01-31 08:00,1E+100000\n"
            "H003,2026-01-31 08:00,10000\n"
            "H002,2026-01-31 08:00,١٢٣\n"
            "H002,2026-01-31 08:00,1_000\n"
            "H002,2026-01-31 08:00,１２\n"
            "H002,２０２６-01-31 08:00,12\n"
            "H003,2026-01-31 08:00,9999\n"
            "H002,2026-01-31 08:10,12\n").encode()
        job = self._job(format_, data)
        self._run(job)
        self.assertEqual(job.state, 'done')
        self.assertEqual((job.total, job.created, job.rejected), (10, 2, 8))
        reasons = {l.number: l.reason for l in job.lines}
        self.assertEqual(reasons, {
                2: 'The date "0001-01-01 00:00" is out of range: readings '
                'are taken from 2000-01-01 to 2100-01-01.',
                3: 'The value "99999999999999999999999" does not fit in the '
                '6 integer digits of meter "M1".',
                4: 'The value "1E+100000" does not fit in the 6 integer '
                'digits of meter "M1".',
                5: 'The value "10000" does not fit in the 4 integer digits '
                'of meter "M3".',
                6: 'The value "١٢٣" is not a number.',
                7: 'The value "1_000" is not a number.',
                8: 'The value "１２" is not a number.',
                9: 'The date "２０２６-01-31 08:00" does not match the '
                'format "%Y-%m-%d %H:%M".',
                })
        self.assertEqual(sorted((r.meter.number, r.value, r.consumption)
                for r in Reading.search([])), [
                ('M2', D(12), D(12)), ('M3', D(9999), D(9999))])

        # The preview tells the same before anything is written.
        session_id, _, _ = Import.create()
        wizard = Import(session_id)
        wizard.start.format = format_
        wizard.start.file = data
        preview = wizard.default_preview(None)
        self.assertEqual((preview['total'], preview['rejected']), (10, 8))
        self.assertEqual(
            {r['number']: r['reason'] for r in preview['rows']
                if r['status'] == 'rejected'}, reasons)

    @with_transaction()
    def test_import_json_nested(self):
        "A platform file nested 100,000 deep fails its job, no crash"
        pool = Pool()
        Format = pool.get('meter.import.format')
        Job = pool.get('meter.import.job')
        self._meters([('P1', {'platform_id': 'dev-1'})])
        format_ = Format(name="Platform", source='platform',
            file_type='json', identifier_column='device',
            value_column='energy', date_column='ts')
        format_.save()
        for data in [b'[' * 100000 + b']' * 100000,
                b'[{"device": "dev-1", "energy": 1, "ts": '
                + b'[' * 100000 + b']' * 100000 + b'}]']:
            job = self._job(format_, data, 'readings.json')
            self._run(job)
            job = Job(job.id)
            self.assertEqual((job.state, job.error), ('failed',
                    "The JSON file is nested too deep to be read."))

    @with_transaction()
    def test_import_wizard_preview(self):
        "The wizard previews the rows with their status before importing"
        pool = Pool()
        Import = pool.get('meter.import', type='wizard')
        self._handheld_meters()
        format_ = self._format()
        first = self._job(format_, "meter,date,reading\n"
            "H001,2026-01-31 08:00,100.5\n".encode())
        self._run(first)

        session_id, _, _ = Import.create()
        wizard = Import(session_id)
        wizard.start.format = format_
        wizard.start.file = self.CSV.encode()
        wizard.start.filename = 'export.csv'
        preview = wizard.default_preview(None)
        self.assertEqual(
            (preview['total'], preview['new'], preview['duplicates'],
                preview['rejected']), (11, 5, 1, 5))
        status = {r['number']: r['status'] for r in preview['rows']}
        self.assertEqual(status[2], 'duplicate')
        self.assertEqual(status[3], 'new')
        self.assertEqual(status[5], 'rejected')
        wizard.preview.total = preview['total']
        self.assertEqual(wizard.transition_import_(), 'open_')
        job = wizard.preview.job
        self.assertEqual((job.created, job.duplicates), (5, 1))
        action, _ = wizard.do_open_({'views': [1, 2]})
        self.assertEqual(action['res_id'], [job.id])

    # Energy platforms ----------------------------------------------------

    def _serve(self, payloads):
        "Serve payloads by path on a loopback HTTP server"
        requests = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                requests.append((self.path, self.headers.get(
                            'Authorization')))
                if self.headers.get('Authorization') != 'Bearer secret':
                    self.send_error(401)
                    return
                if self.path not in payloads:
                    self.send_error(404)
                    return
                body = payloads[self.path]
                self.send_response(200)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        return 'http://127.0.0.1:%s' % server.server_address[1], requests

    @with_transaction()
    def test_platform_pull(self):
        "Pull JSON readings from an energy platform over HTTP"
        pool = Pool()
        Format = pool.get('meter.import.format')
        Platform = pool.get('meter.platform')
        Job = pool.get('meter.import.job')
        self._meters([
                ('P1', {'platform_id': 'dev-1'}),
                ('P2', {'platform_id': 'dev-2'}),
                ])
        payload = json.dumps({'data': {'items': [
                        {'device': 'dev-1', 'ts': '2026-01-31T08:00:00Z',
                            'energy': 10.5},
                        {'device': 'dev-2', 'ts': 1769846400,
                            'energy': '20.25'},
                        {'device': 'dev-3', 'ts': '2026-01-31T08:00:00Z',
                            'energy': 1},
                        {'device': 'dev-1', 'ts': 'soon', 'energy': 2},
                        {'device': 'dev-2', 'energy': 3},
                        ]}}).encode()
        url, requests = self._serve({'/readings.json': payload})
        format_ = Format(name="Platform", source='platform',
            file_type='json', records_key='data.items',
            identifier_column='device', value_column='energy',
            date_column='ts')
        format_.save()
        platform = Platform(name="Energy", url=url + '/readings.json',
            token='secret', format=format_)
        platform.save()

        # The button answers nothing sao could not take
        self.assertIsNone(Platform.pull([platform]))
        job, = Job.search([('platform', '=', platform.id)])
        self.assertEqual(requests, [('/readings.json', 'Bearer secret')])
        self.assertEqual(job.platform, platform)
        self.assertEqual(job.filename, 'readings.json')
        self.assertEqual(
            (job.total, job.created, job.duplicates, job.rejected),
            (5, 2, 0, 3))
        self.assertEqual([l.number for l in job.lines], [3, 4, 5])
        self.assertIn('dev-3', job.lines[0].reason)
        self.assertIn('soon', job.lines[1].reason)
        self.assertIn('ts', job.lines[2].reason)
        self.assertTrue(platform.last_pull)

        again = platform.pull_file()
        self.assertEqual((again.created, again.duplicates), (0, 2))
        # A copy is a new job to run, not a second record of this one
        copy, = Job.copy([again])
        self.assertEqual((copy.state, copy.created), ('draft', None))

        broken = Platform(name="Broken", url=url + '/missing.json',
            token='secret', format=format_)
        broken.save()
        with self.assertRaises(UserError) as context:
            Platform.pull([broken])
        self.assertIn('404', context.exception.message)

        Platform.pull_all()
        failed, = Job.search([('state', '=', 'failed')])
        self.assertEqual(failed.platform, broken)
        self.assertIn('404', failed.error)
        self.assertEqual(
            Job.search([('platform', '=', platform.id)], count=True), 3)

    @with_transaction()
    def test_platform_csv(self):
        "Platform CSV with a semicolon and local dates"
        pool = Pool()
        Format = pool.get('meter.import.format')
        Reading = pool.get('meter.reading')
        self._meters([('P1', {'platform_id': '42'})])
        format_ = Format(name="Platform CSV", source='platform',
            file_type='csv', delimiter=';', identifier_column='2',
            value_column='3', date_column='1', header_rows=0)
        format_.save()
        job = self._job(format_, b'2026/01/31 08:00;42;1 234.5\n')
        self._run(job)
        reading, = Reading.search([])
        self.assertEqual(reading.value, D('1234.5'))
        self.assertEqual(reading.source, 'platform')


del ModuleTestCase
