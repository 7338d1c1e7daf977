"The meters as the field staff find them on site, and their usage"
import datetime as dt
from decimal import Decimal
from urllib.parse import unquote

from trytond.modules.meter_base.configuration import to_local, to_utc
from trytond.modules.meter_wechat.meter import last_months
from trytond.pool import Pool, PoolMeta

from . import dashboard_usage

# A code a member of staff types or scans: a number or a barcode
MAX_CODE = 64
# The path of a meter's card in the address its QR label carries
CARD_PATH = '/field/m/'
# The meters a usage query of an account or a building sums at most
MAX_USAGE_METERS = 500
# The kinds of locations the pages offer as buildings
BUILDINGS = ['building', 'dormitory', 'unit_building']


def month_bounds(date, zone):
    """Return the start and end (naive UTC, as stored) of the month of
    date on the centre's clock"""
    start = dt.datetime(date.year, date.month, 1)
    if date.month == 12:
        end = dt.datetime(date.year + 1, 1, 1)
    else:
        end = dt.datetime(date.year, date.month + 1, 1)
    return to_utc(start, zone), to_utc(end, zone)


def scanned_code(text):
    """Return the meter's code of a scanned or typed text: the text
    itself, or the code in the address of a meter's card that a QR label
    carries (https://…/<database>/field/m/<code>)"""
    text = (text or '').strip()
    if CARD_PATH in text:
        text = text.split(CARD_PATH, 1)[1].split('?', 1)[0].split('#', 1)[0]
        text = unquote(text.strip('/')).strip()
    return text


class Meter(metaclass=PoolMeta):
    __name__ = 'meter.meter'

    @classmethod
    def write(cls, *args):
        # A meter moved to another account, campus or kind moves its use
        # on the dashboard
        actions = iter(args)
        moved = []
        for meters, values in zip(actions, actions):
            if values.keys() & {'account', 'campus', 'kind'}:
                moved.extend(meters)
        before = [(m.account, m.campus) for m in cls.browse(moved)]
        super().write(*args)
        if moved:
            dashboard_usage.changed([m.id for m in moved],
                accounts={a.id for a, _ in before if a},
                campuses={c.id if c else None for _, c in before})

    @classmethod
    def from_code(cls, code):
        """Return the meter whose number or barcode is code (as printed on
        its label or typed), or None.  The search runs with the caller's
        record rules: a meter of another campus is not found."""
        code = (code or '').strip()
        if not code or len(code) > MAX_CODE:
            return None
        meters = cls.search(['OR',
                ('number', '=', code),
                ('barcode', '=', code),
                ], order=[('state', 'ASC'), ('id', 'DESC')], limit=1)
        return meters[0] if meters else None

    @classmethod
    def field_search(cls, text, limit=20):
        """Return the meters whose number, barcode or communication address
        contains text, the exact matches first, within the caller's record
        rules."""
        text = (text or '').strip()
        if not text or len(text) > MAX_CODE:
            return []
        exact = cls.from_code(text)
        pattern = '%' + text.replace('\\', '\\\\').replace(
            '%', '\\%').replace('_', '\\_') + '%'
        meters = cls.search(['OR',
                ('number', 'ilike', pattern),
                ('barcode', 'ilike', pattern),
                ('comm_address', 'ilike', pattern),
                ], limit=limit)
        if exact:
            meters = [exact] + [m for m in meters if m != exact]
        return meters[:limit]

    @property
    def code(self):
        "The code of the meter's card: its barcode, else its number"
        return self.barcode or self.number

    @classmethod
    def unread_domain(cls, date=None):
        """The domain of the active meters without a reading (other than a
        rejected one) taken in the month of date, on the centre's clock:
        the meters still to read this period."""
        pool = Pool()
        Date = pool.get('ir.date')
        Configuration = pool.get('meter.configuration')
        start, end = month_bounds(date or Date.today(),
            Configuration.tzinfo())
        return [
            ('state', '=', 'active'),
            ('readings', 'not where', [
                    ('taken_at', '>=', start),
                    ('taken_at', '<', end),
                    ('state', '!=', 'rejected'),
                    ]),
            ]

    @classmethod
    def unread_in_period(cls, date=None, offset=0, limit=None):
        """Return the number of the meters not yet read in the month of
        date and the page of them from offset, by building and number.
        The search runs with the caller's record rules: a member of staff
        gets the meters of their campuses."""
        domain = cls.unread_domain(date)
        count = cls.search(domain, count=True)
        meters = cls.search(domain, offset=offset, limit=limit,
            order=[('location', 'ASC'), ('number', 'ASC')])
        return count, meters

    def open_work_orders(self, limit=20):
        "The open work orders of the meter's account"
        WorkOrder = Pool().get('meter.work_order')
        if not self.account:
            return []
        return WorkOrder.search([
                ('account', '=', self.account.id),
                ('state', 'in', ['open', 'processing']),
                ], limit=limit)

    @classmethod
    def usage_by_kind(cls, meters, today=None):
        """Return the confirmed consumption of meters summed by kind and
        by month over the 12 months up to today's, as {kind: [(YYYY-MM,
        consumption)]}, the kinds of the meters only: what Meter.
        monthly_usage gives for one meter, for an account or a building
        in one query (a meter's months without readings from the billing
        system's history too)."""
        return {k: [(m, v) for m, v, _ in months]
            for k, months in cls.usage_by_kind_history(meters, today).items()}

    @classmethod
    def usage_by_kind_history(cls, meters, today=None):
        """Return usage_by_kind as {kind: [(YYYY-MM, consumption,
        historic)]}: historic when the month holds the billing system's
        history of a meter without readings in it"""
        pool = Pool()
        Reading = pool.get('meter.reading')
        Configuration = pool.get('meter.configuration')
        zone = Configuration.tzinfo()
        today = today or dt.datetime.now(zone).date()
        months = last_months(today)
        start = to_utc(dt.datetime(*months[0], 1), zone)
        kinds = {m.id: m.kind for m in meters}
        totals = {k: {m: Decimal(0) for m in months}
            for k in set(kinds.values())}
        if not kinds:
            return {}
        readings = Reading.search_read([
                ('meter', 'in', list(kinds)),
                ('state', '=', 'confirmed'),
                ('taken_at', '>=', start),
                ('consumption', '!=', None),
                ], order=[], fields_names=['meter', 'taken_at', 'consumption'])
        read = set()
        for reading in readings:
            taken_at = to_local(reading['taken_at'], zone)
            key = (taken_at.year, taken_at.month)
            kind = totals[kinds[reading['meter']]]
            if key in kind:
                kind[key] += reading['consumption']
                read.add((reading['meter'], key))
        keys = {'%04d-%02d' % m: m for m in months}
        historic = {k: set() for k in totals}
        for meter, usage in cls.history_usage(meters, list(keys)).items():
            for month, value in usage.items():
                key = keys[month]
                if (meter, key) not in read:
                    totals[kinds[meter]][key] += value
                    historic[kinds[meter]].add(key)
        return {k: [('%04d-%02d' % m, v[m], m in historic[k])
                for m in months]
            for k, v in totals.items()}


class Location(metaclass=PoolMeta):
    __name__ = 'meter.location'

    @classmethod
    def field_buildings_domain(cls):
        """The domain of the buildings of the caller's campuses (all they
        may see when no campus is assigned): locations are no campus's
        secret, but staff choose among theirs"""
        User = Pool().get('res.user')
        domain = [('kind', 'in', BUILDINGS)]
        campuses = User.get_meter_campuses()
        if campuses:
            domain.append(('campus', 'in', campuses))
        return domain

    @classmethod
    def field_buildings(cls):
        "The buildings of the caller's campuses, by campus and name"
        return cls.search(cls.field_buildings_domain(),
            order=[('campus', 'ASC'), ('name', 'ASC')])

    @classmethod
    def field_building(cls, location_id):
        "The building of id among field_buildings(), or None"
        buildings = cls.search([
                ('id', '=', location_id),
                *cls.field_buildings_domain(),
                ], limit=1) if location_id else []
        return buildings[0] if buildings else None

    def field_meters(self):
        """The meters of the location and the places under it that the
        caller may see: none for a location of another campus"""
        Meter = Pool().get('meter.meter')
        return Meter.search([
                ('location', 'child_of', [self.id], 'parent'),
                ], limit=MAX_USAGE_METERS)
