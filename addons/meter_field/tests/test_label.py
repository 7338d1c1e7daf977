"""Meter labels: the drawing read back by a real decoder (zxing-cpp), the
printers' command languages, the raw port, and the wizard with its log of
prints and the reason of a reprint."""
import io
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import unittest
from decimal import Decimal
from urllib.parse import quote

import zxingcpp
from PIL import Image

from trytond.exceptions import UserError
from trytond.modules.meter_field.labels import (
    Label, LabelError, LabelSize, image, layout, printer, tspl, zpl)
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    TestCase, activate_module, drop_db, with_transaction)
from trytond.transaction import Transaction

URL = 'https://meter.example.edu.cn/meter/field/m/'
SIZES = [LabelSize(50, 30, 203), LabelSize(60, 40, 203),
    LabelSize(70, 50, 300)]


def label(code='E000123', title="某某大学水电保障中心"):
    return Label(title, code, URL + code,
        ("电表 · 东校区", "东区 / 1号楼 / 3层", "配电间"))


def decode(picture):
    "Return {format: text} of the codes zxing-cpp reads in picture"
    return {r.format.name: r.text
        for r in zxingcpp.read_barcodes(picture.convert('L'))}


class Capture:
    "A local TCP server, as a printer's raw port: keeps the bytes it gets"

    def __init__(self):
        self.socket = socket.create_server(('127.0.0.1', 0))
        self.port = self.socket.getsockname()[1]
        self.data = b''
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        connection, _ = self.socket.accept()
        with connection:
            while chunk := connection.recv(65536):
                self.data += chunk

    def close(self):
        self.thread.join(10)
        self.socket.close()


def closed_port():
    "A loopback port nothing listens on"
    with socket.create_server(('127.0.0.1', 0)) as s:
        return s.getsockname()[1]


class LabelDrawingTestCase(unittest.TestCase):
    "The labels drawn, without the ORM"

    def test_image_decodes(self):
        "The barcode and the QR code of each size read back"
        for size in SIZES:
            for code in ['E000123', '6901001', 'W-2001-ABC']:
                with self.subTest(size=size, code=code):
                    picture = image.render(layout(label(code), size))
                    self.assertEqual(picture.size,
                        (size.width, size.height))
                    self.assertEqual(decode(picture), {
                            'Code128': code,
                            'QRCode': URL + code,
                            })

    def test_layout_within_label(self):
        "Every part lies inside the label, barcode and QR code apart"
        for size in SIZES:
            with self.subTest(size=size):
                result = layout(label(), size)
                boxes = list(result.texts) + [result.barcode, result.qr]
                for box in boxes:
                    self.assertGreaterEqual(box.x, 0)
                    self.assertGreaterEqual(box.y, 0)
                    self.assertLessEqual(box.x + box.width, size.width)
                    self.assertLessEqual(box.y + box.height, size.height)
                bar, qr = result.barcode, result.qr
                self.assertLessEqual(qr.y + qr.height, bar.y)
                # Code 128's bars: at least 0.25 mm on these stocks
                self.assertGreaterEqual(bar.module / size.dpi * 25.4, 0.24)

    def test_bad_codes(self):
        for code in ['', 'E^01', 'E"01', '电表01', 'E 01\n']:
            with self.subTest(code=code):
                with self.assertRaises(LabelError) as cm:
                    layout(label(code), SIZES[0])
                self.assertEqual(cm.exception.reason, 'code')
        with self.assertRaises(LabelError) as cm:
            layout(label('E' * 60), SIZES[0])
        self.assertEqual(cm.exception.reason, 'code_width')
        with self.assertRaises(LabelError) as cm:
            layout(label(), LabelSize(25, 12, 203))
        self.assertEqual(cm.exception.reason, 'size')

    def test_pdf(self):
        "One page a label at the label's size, copies included, readable"
        data = io.BytesIO()
        pages = image.write_pdf(
            (layout(label('E%06d' % i), SIZES[0]) for i in range(150)),
            data, copies=2)
        self.assertEqual(pages, 300)
        pdf = data.getvalue()
        self.assertTrue(pdf.startswith(b'%PDF-'))
        boxes = re.findall(rb'/MediaBox \[ ?([\d.]+) ([\d.]+) ([\d.]+) '
            rb'([\d.]+) ?\]', pdf)
        self.assertTrue(boxes)
        for box in boxes:
            width, height = float(box[2]), float(box[3])
            self.assertAlmostEqual(width / 72 * 25.4, 50, delta=0.2)
            self.assertAlmostEqual(height / 72 * 25.4, 30, delta=0.2)
        if not shutil.which('pdftoppm'):
            self.skipTest("pdftoppm (poppler-utils) is not installed")
        with tempfile.TemporaryDirectory() as folder:
            path = folder + '/labels.pdf'
            with open(path, 'wb') as file:
                file.write(pdf)
            info = subprocess.run(['pdfinfo', path], check=True,
                capture_output=True, text=True).stdout
            self.assertRegex(info, r'Pages:\s+300\n')
            self.assertRegex(info, r'Page size:\s+141\.\d+ x 85\.\d+ pts')
            subprocess.run(['pdftoppm', '-r', '203', '-png', '-f', '299',
                    '-l', '299', path, folder + '/page'], check=True)
            page, = [f for f in os.listdir(folder)
                if f.startswith('page')]
            picture = Image.open(folder + '/' + page)
            self.assertEqual(decode(picture), {
                    'Code128': 'E000149', 'QRCode': URL + 'E000149'})

    def test_zpl(self):
        "ZPL II: ^XA ^PW ^LL ^BY ^BC ^BQ ^FD ^PQ ^XZ and the text as ^GF"
        for size in SIZES:
            with self.subTest(size=size):
                data = io.BytesIO()
                count = zpl.write([layout(label('E000123'), size),
                        layout(label('E000124'), size)], data, copies=3)
                self.assertEqual(count, 2)
                text = data.getvalue().decode('ascii')
                formats = re.findall(r'\^XA(.*?)\^XZ', text, re.S)
                self.assertEqual(len(formats), 2)
                first = formats[0]
                self.assertIn('^PW%d\n' % size.width, first)
                self.assertIn('^LL%d\n' % size.height, first)
                self.assertRegex(first,
                    r'\^FO\d+,\d+\^BY\d+\^BCN,\d+,N,N,N,A\^FDE000123\^FS')
                self.assertRegex(first, r'\^FO\d+,\d+\^BQN,2,\d+'
                    r'\^FDMA,' + re.escape(URL + 'E000123') + r'\^FS')
                self.assertIn('^PQ3\n', first)
                self.assertNotIn('^A', first.replace('^FDMA', ''))
                self._check_graphic_fields(first, size)

    def _check_graphic_fields(self, text, size):
        "The ^GF of the text read back as the very text image"
        expected = {(x, y): im for x, y, im in image.text_images(
                layout(label('E000123'), size))}
        fields = re.findall(
            r'\^FO(\d+),(\d+)\^GFA,(\d+),(\d+),(\d+),([0-9A-F]+)\^FS', text)
        self.assertEqual(len(fields), len(expected))
        for x, y, total, _, row, data in fields:
            raw = bytes.fromhex(data)
            self.assertEqual(len(raw), int(total))
            picture = expected[int(x), int(y)]
            width, packed = image.packed(picture)
            self.assertEqual(int(row), width)
            # ZPL prints the 1 bits: the inverse of Pillow's packing
            self.assertEqual(bytes(b ^ 0xFF for b in raw), packed)

    def test_tspl(self):
        "TSPL: SIZE, GAP, CLS, BITMAP, BARCODE \"128\", QRCODE, PRINT n"
        size = LabelSize(60, 40, 203, gap_mm=3)
        data = io.BytesIO()
        tspl.write([layout(label('E000123'), size),
                layout(label('E000124'), size)], data, copies=2)
        data = data.getvalue()
        self.assertTrue(data.startswith(
                b'SIZE 60 mm,40 mm\r\nGAP 3 mm,0 mm\r\n'))
        commands = []
        position = data.index(b'CLS')
        bitmaps = 0
        while position < len(data):
            line = data[position:data.index(b'\r\n', position)]
            match = re.match(rb'BITMAP (\d+),(\d+),(\d+),(\d+),0,', line)
            if match:
                width, height = int(match[3]), int(match[4])
                start = position + match.end()
                bitmap = data[start:start + width * height]
                self.assertEqual(len(bitmap), width * height)
                position = start + width * height + 2
                bitmaps += 1
                commands.append('BITMAP')
                continue
            commands.append(line.decode('ascii'))
            position += len(line) + 2
        texts = len(list(image.text_images(layout(label(), size))))
        self.assertEqual(bitmaps, 2 * texts)
        others = [c for c in commands if c != 'BITMAP']
        self.assertEqual(others[0], 'CLS')
        self.assertRegex(others[1],
            r'^BARCODE \d+,\d+,"128",\d+,0,0,(\d+),\1,"E000123"$')
        self.assertRegex(others[2], r'^QRCODE \d+,\d+,M,\d+,A,0,"'
            + re.escape(URL + 'E000123') + '"$')
        self.assertEqual(others[3], 'PRINT 2')
        self.assertEqual(others[4], 'CLS')
        self.assertEqual(others[-1], 'PRINT 2')
        self.assertEqual(len(others), 8)

    def test_tspl_bitmap_polarity(self):
        "A BITMAP's 0 bits are the text's black dots"
        size = SIZES[0]
        (x, y, picture), *_ = image.text_images(layout(label(), size))
        command = tspl.bitmap(x, y, picture)
        header = b'BITMAP %d,%d,' % (x, y)
        self.assertTrue(command.startswith(header))
        width = (picture.width + 7) // 8
        data = command[command.index(b',0,') + 3:-2]
        self.assertEqual(len(data), width * picture.height)
        black = sum(1 for v in picture.getdata() if not v)
        zeros = sum(8 - bin(b).count('1') for b in data)
        self.assertEqual(zeros, black)

    def test_send(self):
        "The bytes reach the raw port whole"
        server = Capture()
        payload = b'^XA^FDtest^FS^XZ' * 5000
        printer.send('127.0.0.1', server.port, payload, timeout=5)
        server.close()
        self.assertEqual(server.data, payload)

    def test_send_refused(self):
        with self.assertRaises(OSError):
            printer.send('127.0.0.1', closed_port(), b'^XA^XZ', timeout=5)


class LabelTestCase(TestCase):
    "The labels of the meters: configuration, wizard and log"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        drop_db()
        activate_module(['meter_field'], lang='zh_CN')

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        drop_db()

    def make_meters(self):
        pool = Pool()
        Campus = pool.get('meter.campus')
        Location = pool.get('meter.location')
        Meter = pool.get('meter.meter')
        Configuration = pool.get('meter.label.configuration')
        Format = pool.get('meter.label.format')
        ModelData = pool.get('ir.model.data')
        east, = Campus.create([{'name': "东校区", 'code': 'E'}])
        west, = Campus.create([{'name': "西校区", 'code': 'W'}])
        building, = Location.create([{'name': "1号楼", 'campus': east.id}])
        floor, = Location.create([{
                    'name': "3层", 'campus': east.id, 'parent': building.id,
                    'kind': 'area'}])
        values = dict(kind='electricity', digits=6, decimals=0,
            multiplier=Decimal(1), initial_value=Decimal(0))
        meters = Meter.create([
                dict(values, number='E-1001', barcode='6901001',
                    campus=east.id, location=building.id, place="配电间"),
                dict(values, number='E-1002', campus=east.id,
                    location=floor.id, kind='water'),
                dict(values, number='W-2001', campus=west.id),
                ])
        Configuration.write([Configuration(1)], {
                'title': "某某大学水电保障中心",
                'public_url': 'https://meter.example.edu.cn/',
                })
        format_ = Format(ModelData.get_id('meter_field', 'label_format_50x30'))
        return meters, building, east, format_

    def run_wizard(self, values, model=None, records=()):
        "Run the print wizard with the start values; return the result"
        PrintLabels = Pool().get('meter.label.print_labels', type='wizard')
        context = {}
        if model:
            context = {'active_model': model,
                'active_ids': [r.id for r in records],
                'active_id': records[0].id if records else None}
        with Transaction().set_context(**context):
            session_id, _, _ = PrintLabels.create()
            wizard = PrintLabels(session_id)
            defaults = wizard.default_start(None)
            defaults.update(values)
            reason = defaults.pop('reason', None)
            for name, value in defaults.items():
                setattr(wizard.start, name, value)
            if wizard.transition_check() == 'reprint':
                self.reprinted = wizard.default_reprint(None)['meters']
                wizard.reprint.reason = reason
            wizard.transition_print_()
            return wizard.default_result(None)

    @with_transaction()
    def test_card_url(self):
        "The QR code carries the base URL, the database and the code"
        meters, *_ = self.make_meters()
        Meter = Pool().get('meter.meter')
        labels = Meter.get_labels(meters)
        database = Transaction().database.name
        self.assertEqual([l.code for l in labels],
            ['6901001', 'E-1002', 'W-2001'])
        self.assertEqual(labels[0].url,
            'https://meter.example.edu.cn/%s/field/m/6901001'
            % quote(database, safe=''))
        self.assertEqual(labels[0].title, "某某大学水电保障中心")
        self.assertEqual(labels[0].lines,
            ("电 · 东校区", "1号楼", "配电间"))
        self.assertEqual(labels[1].lines,
            ("水 · 东校区", "1号楼 / 3层", ""))

    @with_transaction()
    def test_public_url_rules(self):
        Configuration = Pool().get('meter.label.configuration')
        configuration = Configuration(1)
        # The singleton created (its table locked) before the refusals
        Configuration.write([configuration],
            {'public_url': 'http://10.0.0.5:8000'})
        for url in ['ftp://meter.example.edu.cn',
                'https://user:secret@meter.example.edu.cn',
                'https://meter.example.edu.cn/?token=abc',
                'meter.example.edu.cn']:
            with self.subTest(url=url):
                with self.assertRaises(UserError) as cm:
                    Configuration.write([configuration], {'public_url': url})
                self.assertIn("公开访问地址", cm.exception.message)

    @with_transaction()
    def test_no_public_url(self):
        meters, building, east, format_ = self.make_meters()
        Configuration = Pool().get('meter.label.configuration')
        Configuration.write([Configuration(1)], {'public_url': None})
        with self.assertRaises(UserError) as cm:
            self.run_wizard({'format': format_},
                'meter.meter', meters)
        self.assertIn("公开访问地址", cm.exception.message)

    @with_transaction()
    def test_wizard_pdf_and_reprint(self):
        "A building's labels as PDF, logged; a reprint wants a reason"
        pool = Pool()
        Print = pool.get('meter.label.print')
        meters, building, east, format_ = self.make_meters()
        result = self.run_wizard({
                'source': 'location', 'location': building,
                'format': format_, 'output': 'pdf', 'copies': 1})
        self.assertEqual(result['count'], 2)
        self.assertTrue(result['file'].startswith(b'%PDF-'))
        self.assertTrue(result['filename'].endswith('.pdf'))
        print_, = Print.search([])
        self.assertEqual(print_.user.id, Transaction().user)
        self.assertEqual(sorted(m.number for m in print_.meters),
            ['E-1001', 'E-1002'])
        self.assertFalse(print_.reprint)
        self.assertTrue(print_.date)

        # E-1002 again, with W-2001 never printed: a reason is wanted
        self.reprinted = None
        with self.assertRaises(UserError) as cm:
            self.run_wizard({'format': format_, 'output': 'zpl'},
                'meter.meter', meters[1:])
        self.assertIn("E-1002", cm.exception.message)
        self.assertIn("重新打印", cm.exception.message)
        self.assertEqual(Print.search([], count=True), 1)

        result = self.run_wizard({'format': format_, 'output': 'zpl',
                'reason': "标签被雨水冲掉", 'copies': 2},
            'meter.meter', meters[1:])
        # Only E-1002 is a reprint
        self.assertEqual(self.reprinted, [meters[1].id])
        self.assertEqual(result['count'], 4)
        self.assertTrue(result['filename'].endswith('.zpl'))
        self.assertEqual(result['file'].count(b'^XA'), 2)
        self.assertEqual(result['file'].count(b'^PQ2\n'), 2)
        reprint = Print.search([('reprint', '=', True)])
        self.assertEqual(len(reprint), 1)
        self.assertEqual(reprint[0].reason, "标签被雨水冲掉")
        self.assertEqual(reprint[0].copies, 2)

    @with_transaction()
    def test_wizard_campus_tspl(self):
        meters, building, east, format_ = self.make_meters()
        result = self.run_wizard({'format': format_, 'output': 'tspl'},
            'meter.campus', [east])
        self.assertEqual(result['count'], 2)
        self.assertTrue(result['filename'].endswith('.prn'))
        self.assertEqual(result['file'].count(b'\r\nPRINT 1\r\n'), 2)
        self.assertIn(b'"6901001"', result['file'])
        self.assertNotIn(b'W-2001', result['file'])

    @with_transaction()
    def test_wizard_no_meters(self):
        pool = Pool()
        Location = pool.get('meter.location')
        meters, building, east, format_ = self.make_meters()
        empty, = Location.create([{'name': "空楼", 'campus': east.id}])
        with self.assertRaises(UserError) as cm:
            self.run_wizard({'source': 'location', 'location': empty,
                    'format': format_})
        self.assertIn("没有", cm.exception.message)
        self.assertEqual(
            pool.get('meter.label.print').search([], count=True), 0)

    @with_transaction()
    def test_wizard_printer(self):
        "Sent to a network printer: the printer's language, the copies"
        pool = Pool()
        Printer = pool.get('meter.label.printer')
        meters, building, east, format_ = self.make_meters()
        server = Capture()
        zebra, = Printer.create([{'name': "库房斑马", 'language': 'zpl',
                    'host': '127.0.0.1', 'port': server.port,
                    'format': format_.id}])
        result = self.run_wizard({'output': 'printer', 'printer': zebra,
                'copies': 3}, 'meter.meter', meters[:1])
        server.close()
        self.assertIsNone(result['file'])
        self.assertEqual(result['printer'], zebra.id)
        self.assertEqual(server.data.count(b'^XA'), 1)
        self.assertIn(b'^FD6901001^FS', server.data)
        self.assertIn(b'^PQ3\n', server.data)
        self.assertIn(b'^PW400\n^LL240\n', server.data)

    @with_transaction()
    def test_wizard_printer_unreachable(self):
        pool = Pool()
        Printer = pool.get('meter.label.printer')
        meters, building, east, format_ = self.make_meters()
        port = closed_port()
        gone, = Printer.create([{'name': "坏打印机", 'language': 'tspl',
                    'host': '127.0.0.1', 'port': port,
                    'format': format_.id}])
        with self.assertRaises(UserError) as cm:
            self.run_wizard({'output': 'printer', 'printer': gone},
                'meter.meter', meters[:1])
        self.assertIn("坏打印机", cm.exception.message)
        self.assertIn("127.0.0.1:%d" % port, cm.exception.message)
        self.assertIn("标签打印机", cm.exception.message)

    @with_transaction()
    def test_format_too_small(self):
        Format = Pool().get('meter.label.format')
        with self.assertRaises(UserError):
            Format.create([{'name': "tiny", 'width': 20, 'height': 15,
                        'dpi': '203', 'gap': 2}])

