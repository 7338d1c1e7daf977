"""The office's usage query (用能查询): the use by period, campus, building,
account category and kind, billed or read but not yet billed (未出账), as
a list and a chart in sao, as an Excel workbook with its chart and as a
PDF with a chart image"""
import datetime as dt
import io
from collections import defaultdict
from decimal import Decimal

import xlsxwriter
from PIL import Image, ImageDraw, ImageFont
from sql import Cast, Literal, Null, Union
from sql.aggregate import Count, Min, Sum
from sql.conditionals import Case, Coalesce
from sql.operators import Exists

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.meter_base.configuration import to_utc
from trytond.modules.meter_base.meter import KINDS
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.report import Report
from trytond.transaction import without_check_access

from .dashboard import CATEGORIES
from .exceptions import UsageReportError

# The rows a report takes at most
MAX_ROWS = 20000
# The colours of the kinds in the charts
COLOURS = ['#4472C4', '#ED7D31', '#A5A5A5', '#70AD47', '#FFC000']
FONTS = [
    '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc',
    '/usr/share/fonts/truetype/wqy/wqy-microhei.ttc',
    '/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc',
    ]


class Usage(ModelSQL, ModelView):
    """The use per period, by campus, building (the meters' location),
    account category and kind: billed (cancelled bills left out) and, for
    the open periods begun, the confirmed readings of the meters not yet
    billed in them (未出账)"""
    __name__ = 'meter.usage'
    period = fields.Many2One('meter.billing.period', "Period")
    start_date = fields.Date("Start Date")
    campus = fields.Many2One('meter.campus', "Campus")
    location = fields.Many2One('meter.location', "Building")
    category = fields.Selection(CATEGORIES, "Category")
    kind = fields.Selection(KINDS, "Kind")
    accounts = fields.Integer("Accounts")
    meters = fields.Integer("Meters")
    usage = fields.Numeric("Use", digits=(16, 3))
    billing = fields.Selection([
            ('billed', "Billed"),
            ('unbilled', "Not Yet Billed"),
            ], "Billing")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('start_date', 'DESC'), ('campus', 'ASC'),
            ('location', 'ASC'), ('category', 'ASC'), ('kind', 'ASC'),
            ('billing', 'ASC'), ('id', 'ASC')]

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('/tree', 'visual',
                If(Eval('billing') == 'unbilled', 'warning', '')),
            ]

    @classmethod
    def table_query(cls):
        billed = cls._billed_query()
        unbilled = cls._unbilled_query()
        if unbilled is None:
            return billed
        return Union(billed, unbilled, all_=True)

    @classmethod
    def _columns(cls, id_, period, start_date):
        return [id_.as_('id'),
            Literal(0).as_('create_uid'),
            Literal(Null).as_('create_date'),
            Literal(Null).as_('write_uid'),
            Literal(Null).as_('write_date'),
            period.as_('period'),
            start_date.as_('start_date')]

    @classmethod
    def _billed_query(cls):
        pool = Pool()
        Bill = pool.get('meter.bill')
        BillMeter = pool.get('meter.bill.meter')
        Meter = pool.get('meter.meter')
        Period = pool.get('meter.billing.period')
        bill = Bill.__table__()
        line = BillMeter.__table__()
        meter = Meter.__table__()
        period = Period.__table__()
        # Even ids for the billed rows, odd ones for the others
        return line.join(bill, condition=line.bill == bill.id
            ).join(meter, condition=line.meter == meter.id
            ).join(period, condition=bill.period == period.id
            ).select(
                *cls._columns(Min(line.id) * 2, bill.period,
                    period.start_date),
                bill.campus.as_('campus'),
                meter.location.as_('location'),
                bill.category.as_('category'),
                line.kind.as_('kind'),
                Count(bill.account, distinct=True).as_('accounts'),
                Count(line.meter, distinct=True).as_('meters'),
                Sum(line.usage).as_('usage'),
                Cast(Literal('billed'), 'VARCHAR').as_('billing'),
                where=bill.state != 'cancelled',
                group_by=[bill.period, period.start_date, bill.campus,
                    meter.location, bill.category, line.kind])

    @classmethod
    def _unbilled_query(cls):
        """The confirmed readings taken in the open periods begun, of the
        meters without a bill of the period; None without such a period"""
        pool = Pool()
        Bill = pool.get('meter.bill')
        BillMeter = pool.get('meter.bill.meter')
        Meter = pool.get('meter.meter')
        Account = pool.get('meter.account')
        Reading = pool.get('meter.reading')
        Period = pool.get('meter.billing.period')
        Configuration = pool.get('meter.configuration')
        Date = pool.get('ir.date')
        with without_check_access():
            periods = Period.search([
                    ('state', '=', 'open'),
                    ('start_date', '<=', Date.today()),
                    ], order=[('start_date', 'ASC')])
        if not periods:
            return None
        zone = Configuration.tzinfo()
        reading = Reading.__table__()
        meter = Meter.__table__()
        sub = Meter.__table__()
        account = Account.__table__()
        bill = Bill.__table__()
        line = BillMeter.__table__()

        def bounds(period):
            return [to_utc(dt.datetime.combine(day, dt.time()), zone)
                for day in [period.start_date,
                    period.end_date + dt.timedelta(days=1)]]
        # The period of each reading, NULL outside the open ones; typed:
        # PostgreSQL could not type bare parameters
        period_of = Case(*(((reading.taken_at >= low)
                    & (reading.taken_at < high),
                    Cast(Literal(p.id), 'INTEGER'))
                for p in periods for low, high in [bounds(p)]),
            else_=Null)
        low = min(bounds(p)[0] for p in periods)
        rows = reading.join(meter, condition=reading.meter == meter.id
            ).join(account, 'LEFT', condition=meter.account == account.id
            ).select(reading.id.as_('id'),
                period_of.as_('period'),
                reading.meter.as_('meter'),
                meter.account.as_('account'),
                meter.campus.as_('campus'),
                meter.location.as_('location'),
                account.category.as_('category'),
                meter.kind.as_('kind'),
                Coalesce(reading.consumption, 0).as_('usage'),
                where=(reading.state == 'confirmed')
                & (reading.taken_at >= low)
                # A main meter's use is its sub-meters' again: never billed,
                # it would count the building twice
                & ~meter.id.in_(sub.select(sub.parent_meter,
                        where=sub.parent_meter != Null)))
        billed = line.join(bill, condition=line.bill == bill.id).select(
            line.meter, bill.period, where=bill.state != 'cancelled')
        period = Period.__table__()
        return rows.join(period, condition=rows.period == period.id
            ).select(
            *cls._columns(Min(rows.id) * 2 + 1, rows.period,
                period.start_date),
            rows.campus.as_('campus'),
            rows.location.as_('location'),
            rows.category.as_('category'),
            rows.kind.as_('kind'),
            Count(rows.account, distinct=True).as_('accounts'),
            Count(rows.meter, distinct=True).as_('meters'),
            Sum(rows.usage).as_('usage'),
            Cast(Literal('unbilled'), 'VARCHAR').as_('billing'),
            where=(rows.period != Null)
            & ~Exists(billed.select(Literal(1),
                    where=(billed.meter == rows.meter)
                    & (billed.period == rows.period))),
            group_by=[rows.period, period.start_date, rows.campus,
                rows.location, rows.category, rows.kind])


class UsageTable:
    "The rows of a usage report and their totals by period and kind"

    def __init__(self, records):
        Usage = Pool().get('meter.usage')
        if not records:
            raise UsageReportError(gettext('meter_field.msg_usage_empty'))
        if len(records) > MAX_ROWS:
            raise UsageReportError(gettext('meter_field.msg_usage_too_many',
                    count=len(records), max=MAX_ROWS))
        self.fields = Usage.fields_get(['period', 'campus', 'location',
                'category', 'kind', 'accounts', 'meters', 'usage',
                'billing'])
        self.kinds = dict(self.fields['kind']['selection'])
        self.categories = dict(self.fields['category']['selection'])
        self.billings = dict(self.fields['billing']['selection'])
        self.records = sorted(records, key=lambda r: (
                r.start_date, r.campus.code, r.location.rec_name
                if r.location else '', r.category or '', r.kind or '',
                r.billing or ''))
        self.periods = []
        totals = defaultdict(Decimal)
        for record in self.records:
            name = record.period.rec_name
            if name not in self.periods:
                self.periods.append(name)
            totals[name, record.kind] += record.usage or 0
        self.totals = totals
        self.kind_codes = [k for k, _ in KINDS
            if any(kind == k for _, kind in totals)]

    def headers(self):
        return [self.fields[n]['string'] for n in ['period', 'campus',
                'location', 'category', 'kind', 'accounts', 'meters',
                'usage', 'billing']]

    def marked_rows(self):
        """The rows without the billing column, the period of a row not
        yet billed marked so (the PDF's table)"""
        for record, row in zip(self.records, self.rows()):
            row = row[:-1]
            if record.billing == 'unbilled':
                row[0] = gettext('meter_field.msg_usage_period_billing',
                    period=row[0], billing=self.billings[record.billing])
            yield row

    def rows(self):
        for r in self.records:
            yield [r.period.rec_name, r.campus.rec_name,
                r.location.rec_name if r.location else '',
                self.categories.get(r.category, ''),
                self.kinds.get(r.kind, ''), r.accounts or 0, r.meters or 0,
                r.usage or Decimal(0), self.billings.get(r.billing, '')]

    def series(self):
        "[(kind's name, [use per period])] for the charts"
        return [(self.kinds[k], [self.totals[p, k] for p in self.periods])
            for k in self.kind_codes]


def chart_png(title, categories, series, size=(1000, 420)):
    """Return a PNG of a grouped bar chart: categories along the axis,
    one bar of each series in each"""
    width, height = size
    image = Image.new('RGB', size, 'white')
    draw = ImageDraw.Draw(image)
    font = small = None
    for path in FONTS:
        try:
            font = ImageFont.truetype(path, 20)
            small = ImageFont.truetype(path, 14)
            break
        except OSError:
            continue
    if font is None:
        font = small = ImageFont.load_default()
    left, top, bottom, right = 80, 50, height - 60, width - 170
    draw.text((left, 10), title, fill='black', font=font)
    top_value = max([v for _, values in series for v in values] + [1])
    draw.line([(left, top), (left, bottom), (right, bottom)], fill='black')
    for step in range(5):
        value = top_value * step / 4
        y = bottom - (bottom - top) * step / 4
        draw.line([(left - 4, y), (right, y)], fill='#DDDDDD')
        draw.text((4, y - 8), f'{value:,.0f}', fill='black', font=small)
    slot = (right - left) / max(len(categories), 1)
    bar = slot * 0.8 / max(len(series), 1)
    for index, category in enumerate(categories):
        x0 = left + slot * index + slot * 0.1
        for number, (_, values) in enumerate(series):
            x = x0 + bar * number
            y = bottom - (bottom - top) * float(values[index]) / float(
                top_value)
            draw.rectangle([x, y, x + bar - 2, bottom],
                fill=COLOURS[number % len(COLOURS)])
        draw.text((x0, bottom + 8), str(category)[:14], fill='black',
            font=small)
    for number, (name, _) in enumerate(series):
        y = top + 24 * number
        draw.rectangle([right + 20, y, right + 36, y + 14],
            fill=COLOURS[number % len(COLOURS)])
        draw.text((right + 44, y - 2), name, fill='black', font=small)
    output = io.BytesIO()
    image.save(output, 'PNG')
    return output.getvalue()


def _records(cls, ids, data):
    "The usage records of the report's ids, checked against access"
    pool = Pool()
    Usage = pool.get('meter.usage')
    ActionReport = pool.get('ir.action.report')
    if data.get('action_id') is None:
        action_report, = ActionReport.search([
                ('report_name', '=', cls.__name__),
                ], limit=1)
    else:
        action_report = ActionReport(data['action_id'])
    ids = list(map(int, ids))
    cls.check_access(action_report, Usage.__name__, ids)
    return Usage.browse(ids)


class UsageExcel(Report):
    "The usage query as an Excel workbook with a chart by period and kind"
    __name__ = 'meter.usage.xlsx'

    @classmethod
    def execute(cls, ids, data):
        table = UsageTable(_records(cls, ids, data))
        name = gettext('meter_field.msg_usage_title')
        return ('xlsx', cls.workbook(table, name), False, name)

    @classmethod
    def workbook(cls, table, title):
        output = io.BytesIO()
        workbook = xlsxwriter.Workbook(output, {
                'in_memory': True,
                'strings_to_numbers': False,
                'strings_to_formulas': False,
                'strings_to_urls': False,
                })
        bold = workbook.add_format({'bold': True})
        header = workbook.add_format({'bold': True, 'bottom': 1,
                'align': 'center', 'bg_color': '#DDEBF7'})
        number = workbook.add_format({'num_format': '#,##0.000'})
        sheet = workbook.add_worksheet(title[:31])
        sheet.write_string(0, 0, title, bold)
        headers = table.headers()
        for column, name in enumerate(headers):
            sheet.set_column(column, column, max(10, 2 * len(name) + 4))
            sheet.write_string(1, column, name, header)
        row = 1
        for row, values in enumerate(table.rows(), 2):
            for column, value in enumerate(values):
                if isinstance(value, Decimal):
                    sheet.write_number(row, column, float(value), number)
                elif isinstance(value, int):
                    sheet.write_number(row, column, value)
                else:
                    sheet.write_string(row, column, value)
        sheet.freeze_panes(2, 0)
        sheet.autofilter(1, 0, row, len(headers) - 1)

        # The totals by period and kind, and their chart
        totals = workbook.add_worksheet(
            gettext('meter_field.msg_usage_totals')[:31])
        totals.write_string(0, 0, headers[0], header)
        totals.set_column(0, 0, 24)
        for column, (name, values) in enumerate(table.series(), 1):
            totals.set_column(column, column, 16)
            totals.write_string(0, column, name, header)
            for index, value in enumerate(values, 1):
                totals.write_number(index, column, float(value), number)
        for index, period in enumerate(table.periods, 1):
            totals.write_string(index, 0, period)
        chart = workbook.add_chart({'type': 'column'})
        last = len(table.periods)
        for column, (name, _) in enumerate(table.series(), 1):
            chart.add_series({
                    'name': [totals.name, 0, column],
                    'categories': [totals.name, 1, 0, last, 0],
                    'values': [totals.name, 1, column, last, column],
                    'fill': {'color': COLOURS[(column - 1) % len(COLOURS)]},
                    })
        chart.set_title({'name': title})
        chart.set_size({'width': 720, 'height': 360})
        totals.insert_chart(last + 3, 0, chart)
        workbook.close()
        return output.getvalue()


class UsagePDF(Report):
    "The usage query as a PDF: the chart by period and kind, then the table"
    __name__ = 'meter.usage.pdf'

    @classmethod
    def execute(cls, ids, data):
        table = UsageTable(_records(cls, ids, data))
        data = dict(data, usage_table=table)
        return super().execute(ids, data)

    @classmethod
    def get_context(cls, records, header, data):
        context = super().get_context(records, header, data)
        table = data['usage_table']
        title = gettext('meter_field.msg_usage_title')
        context['title'] = title
        context['headers'] = table.headers()[:-1]
        context['rows'] = [[f'{v:,.3f}' if isinstance(v, Decimal) else str(v)
                for v in row] for row in table.marked_rows()]
        context['chart'] = (chart_png(title, table.periods, table.series()),
            'image/png', '16cm', '6.7cm')
        return context
