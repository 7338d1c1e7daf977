"""Benchmark the meter labels: 1,000 labels as one PDF

Activates meter_field in an SQLite database in memory, creates 1,000
meters in 20 buildings of a campus, then times what the print wizard does
for them: gather their labels (code, card address, kind, campus, place)
and render them as one PDF of one 60 × 40 mm label a page at 203 dpi.
Prints on stdout::

    BENCH label_pdf_1000_s=<seconds>        (goal: under 20 s)
    BENCH label_pdf_1000_mb=<size of the PDF in MB>
    BENCH label_zpl_1000_s=<seconds for the same labels as ZPL>
"""
import os
import sys
import time
from decimal import Decimal

os.environ.setdefault('DB_NAME', ':memory:')
os.environ.setdefault('TRYTOND_DATABASE_URI', 'sqlite://')

from trytond.pool import Pool  # noqa: E402
from trytond.tests.test_tryton import (  # noqa: E402
    DB_NAME, activate_module)
from trytond.transaction import Transaction  # noqa: E402

METERS = 1000


def main():
    activate_module(['meter_field'], lang='zh_CN')
    with Transaction().start(DB_NAME, 0, _lock_tables=[
                'meter_label_configuration']):
        pool = Pool()
        Campus = pool.get('meter.campus')
        Location = pool.get('meter.location')
        Meter = pool.get('meter.meter')
        Configuration = pool.get('meter.label.configuration')
        Format = pool.get('meter.label.format')
        ModelData = pool.get('ir.model.data')
        campus, = Campus.create([{'name': "东校区", 'code': 'E'}])
        buildings = Location.create([{'name': f"{i + 1}号楼",
                    'campus': campus.id} for i in range(20)])
        Meter.create([{
                    'number': f'E{i:06d}', 'campus': campus.id,
                    'location': buildings[i % 20].id,
                    'place': f"{i % 6 + 1}层配电间",
                    'kind': 'electricity' if i % 2 else 'water',
                    'digits': 6, 'decimals': 0, 'multiplier': Decimal(1),
                    'initial_value': Decimal(0)} for i in range(METERS)])
        Configuration.write([Configuration(1)], {
                'title': "某某大学水电保障中心",
                'public_url': 'https://meter.example.edu.cn'})
        format_ = Format(ModelData.get_id('meter_field', 'label_format_60x40'))

        start = time.perf_counter()
        meters = Meter.search([('campus', '=', campus.id)])
        pdf = format_.render(Meter.get_labels(meters), 'pdf')
        pdf_s = time.perf_counter() - start
        assert pdf.startswith(b'%PDF-') and len(meters) == METERS

        start = time.perf_counter()
        meters = Meter.search([('campus', '=', campus.id)])
        zpl = format_.render(Meter.get_labels(meters), 'zpl')
        zpl_s = time.perf_counter() - start
        assert zpl.count(b'^XA') == METERS
    print(f'BENCH label_pdf_1000_s={pdf_s:.2f}')
    print(f'BENCH label_pdf_1000_mb={len(pdf) / 1e6:.1f}')
    print(f'BENCH label_zpl_1000_s={zpl_s:.2f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
