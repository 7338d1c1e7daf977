# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""Tariff and billing arithmetic of the water and electricity service.

This module is plain Python: it imports nothing from trytond so that the
rules can be read, tested and reasoned about without a database.  The
``meter.tariff`` model builds the objects below from its records, calls
:func:`compute_bill` and stores what it returns.

Money is always :class:`~decimal.Decimal` in yuan, quantities are
:class:`~decimal.Decimal` in the unit of the meter (m³, kWh) with the
meter's number of decimals (``digits``).  Floats are refused with
:class:`TypeError` because they cannot represent prices exactly.
Internally the proration ratios are kept as exact fractions and only the
published figures are rounded, so no result depends on the precision of a
decimal context.

Public API
----------

``Tier(upper, price)``
    One step of a tiered (阶梯) price: the unit price applies to the usage
    up to ``upper`` (cumulative, exclusive of the previous bound); ``None``
    means "no upper bound" and is mandatory on the last tier.

``Component(code, name, unit_price=None, tiers=())``
    One priced part of the usage, e.g. 水费 and 污水处理费; each component
    gives its own bill lines.  Either flat (``unit_price``) or tiered
    (``tiers``, a sequence of ``Tier`` or of ``(upper, price)`` pairs).

``FixedCharge(code, name, amount)``
    A fixed amount per calendar month, independent of the usage.

``TariffVersion(valid_from, valid_to, components, free_quota=0,
minimum_charge=0, fixed_charges=())``
    The prices in force from ``valid_from`` to ``valid_to`` (both
    inclusive, ``None`` for open ended).

``Tariff(versions, tier_basis='month', tier_year_start=(1, 1),
carry_over=False)``
    The versions (which must not overlap) and the rules that do not change
    with the prices.

``compute_bill(tariff, start, end, usage, digits=2, tier_usage=0,
tier_year=None, carried_quota=0) -> BillResult``
    Price ``usage`` consumed from ``start`` to ``end`` (both inclusive).

``BillResult``
    ``lines`` (tuple of ``BillLine``), ``total`` (the sum of the line
    amounts), ``energy_amount``, ``free_quantity``, ``billable``,
    ``carry_out``, ``tier_year`` and ``tier_usage``.

``BillLine``
    ``kind`` (``'usage'``, ``'free'``, ``'minimum'`` or ``'fixed'``),
    ``code``, ``name``, ``quantity``, ``unit_price``, ``amount``, ``tier`` (1-based or
    ``None``), ``start`` and ``end``.

``split_by_days(quantity, days, digits=0)``
    The apportionment used everywhere a quantity is split by days.

``tier_year_start(date, month, day)``
    First day of the tier year that contains ``date``.

``allocate_payment(amount, open_bills) -> PaymentAllocation``
    Allocate a payment to ``OpenBill(key, number, due_date, amount)``
    records, oldest first.

Every invalid input raises :class:`PricingError`, a :class:`ValueError`
with a stable ``code`` (for instance ``'tier_order'`` or
``'negative_usage'``) and the ``params`` of the message, so that the ORM
layer can show a translated message.

Rules
-----

Splitting by days
    The period is cut into parts wherever a tariff version starts or ends
    and, for yearly tiers, wherever a tier year starts.  The usage of the
    period is apportioned to the parts in proportion to the number of days
    each part covers, because a meter reading only tells the usage between
    two dates and the days are the only fair measure of when it was
    consumed.  The apportionment uses cumulative rounding: with ``D_i`` the
    days of parts 1 to ``i`` and ``D`` the days of the period, part ``i``
    receives ``round(Q * D_i / D) - round(Q * D_(i-1) / D)`` rounded
    half-up to the meter's decimals.  The parts therefore always add up to
    exactly ``Q``, none is negative and each is within one unit of the last
    decimal of its exact share.

Price change inside a period
    Each part is priced with the version in force on its days.  Tier bounds
    keep counting across a price change: the part after the change
    continues from the usage of the part before it.  Amounts per period
    (free quota and minimum charge) are prorated by days between the
    versions, so they are exactly the version's figure when one version
    covers the whole period.

Tiers per month (``tier_basis='month'``)
    The bounds apply to the billable usage of the billing period (whatever
    its length; periods are normally calendar months).

Tiers per tier year (``tier_basis='year'``)
    The bounds apply to the billable usage accumulated since the start of
    the tier year, which begins every year on ``tier_year_start`` (month,
    day).  The caller passes the year-to-date usage before the period as
    ``tier_usage`` together with the tier year it belongs to
    (``tier_year``); an older tier year counts as zero.  When the period
    crosses the start of a tier year, the usage is split by days between
    the part before and the part after it: the part before continues the
    old year's cumulative usage, the part after starts the new year from
    zero.  The result gives the cumulative usage at the end of the period
    and its tier year for the caller to store.

Free quota
    ``free_quota`` units per period are free.  They are taken before
    pricing, from the first units of the period, and the tiers count only
    the billable units.  The quota of the period plus the carried-in quota
    (``carried_quota``) is available; when the tariff has ``carry_over``
    the unused part of both is returned as ``carry_out`` for the next
    period, otherwise it is lost.  Carried quota never expires by itself:
    the caller passes zero when the policy resets it (e.g. each school
    year).  The free units appear as a ``'free'`` line with a zero amount.

Minimum charge
    When the energy charge (the sum of the rounded usage lines of all
    components) is lower than the minimum charge of the period, a
    ``'minimum'`` line adds the difference.  Fixed charges do not count
    toward the minimum.

Fixed charges
    A fixed charge is an amount per calendar month, prorated by days for
    each month the period covers partly: ``amount * days / days in that
    month``.  A period of whole calendar months thus costs exactly the
    monthly amount times the number of months whatever their lengths, and a
    mid-month move-in pays only its days.  The line's quantity is the number
    of months rounded to 4 decimals; its amount is computed from the exact
    ratio.

Rounding
    Each line amount is ``quantity * unit price`` rounded to 0.01 yuan with
    ROUND_HALF_UP, lines with the same component, tier and unit price on
    adjacent days being merged first.  The total is the sum of the rounded
    lines and is never rounded on its own, so the printed lines always add
    up to the total.  Within one tariff version and one tier year the total
    never decreases when the usage grows (for non-negative prices); when
    the period is split, moving the last unit of a rounding between the
    parts may shift the total by a few fen.

Example
-------

The ``meter.tariff`` model would do something like::

    tariff = Tariff(
        versions=[TariffVersion(
                valid_from=v.start_date, valid_to=v.end_date,
                components=[Component(
                        c.code, c.name,
                        unit_price=c.unit_price if c.pricing == 'flat'
                        else None,
                        tiers=[(t.upper, t.unit_price) for t in c.tiers]
                        if c.pricing == 'tiered' else ())
                    for c in v.components],
                free_quota=v.free_quota or 0,
                minimum_charge=v.minimum_charge or 0,
                fixed_charges=[FixedCharge(f.code, f.name, f.amount)
                    for f in v.fixed_charges])
            for v in self.versions],
        tier_basis=self.tier_basis,
        tier_year_start=(self.tier_year_month, self.tier_year_day),
        carry_over=self.carry_over)
    result = compute_bill(
        tariff, period.start_date, period.end_date, usage,
        digits=meter.unit.digits,
        tier_usage=account.tier_usage, tier_year=account.tier_year,
        carried_quota=account.carried_quota)
    Line = pool.get('meter.bill.line')
    bill.lines = [Line(**line.as_dict()) for line in result.lines]
    account.tier_usage = result.tier_usage
    account.tier_year = result.tier_year
    account.carried_quota = result.carry_out
"""
import calendar
import datetime as dt
import decimal
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Optional, Tuple

__all__ = [
    'PricingError',
    'Tier', 'Component', 'FixedCharge', 'TariffVersion', 'Tariff',
    'BillLine', 'BillResult', 'compute_bill',
    'split_by_days', 'tier_year_start', 'round_money',
    'OpenBill', 'Allocation', 'PaymentAllocation', 'allocate_payment',
    'TIER_MONTH', 'TIER_YEAR',
    'LINE_USAGE', 'LINE_FREE', 'LINE_MINIMUM', 'LINE_FIXED',
    ]

TIER_MONTH = 'month'
TIER_YEAR = 'year'
TIER_BASES = (TIER_MONTH, TIER_YEAR)

LINE_USAGE = 'usage'
LINE_FREE = 'free'
LINE_MINIMUM = 'minimum'
LINE_FIXED = 'fixed'

MONEY_DIGITS = 2
MONTH_DIGITS = 4
_ZERO = Decimal(0)
_ONE_DAY = dt.timedelta(days=1)


class PricingError(ValueError):
    """An invalid tariff or billing input.

    ``code`` is stable and meant to be mapped to a translated message;
    ``params`` holds the values quoted in the message.
    """

    def __init__(self, code, message, /, **params):
        super().__init__(message % params if params else message)
        self.code = code
        self.params = params


def _decimal(value, name):
    "Return value as Decimal, refusing floats which are not exact"
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError('%s must be a Decimal, not %r' % (name, value))
    try:
        return Decimal(value)
    except (TypeError, ValueError, decimal.InvalidOperation):
        raise TypeError('%s must be a Decimal, not %r' % (name, value))


def _non_negative(value, name, code):
    value = _decimal(value, name)
    if not value.is_finite() or value < 0:
        raise PricingError(
            code, '%(name)s must not be negative (got %(value)s).',
            name=name, value=value)
    return value


def _check_digits(value, digits, name):
    "Refuse a quantity with more decimals than the meter has"
    if value != value.quantize(_exponent(digits)):
        raise PricingError(
            'quantity_digits',
            '%(name)s %(value)s has more than %(digits)s decimals.',
            name=name, value=value, digits=digits)
    return value.quantize(_exponent(digits))


def _exponent(digits):
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 0:
        raise PricingError(
            'digits', 'The number of decimals %(digits)r is not valid.',
            digits=digits)
    return Decimal(1).scaleb(-digits)


def _ratio(value):
    "Return (numerator, denominator) of an exact value"
    if isinstance(value, int):
        return value, 1
    if isinstance(value, (Decimal, Fraction)):
        return value.as_integer_ratio()
    return Fraction(value).as_integer_ratio()


def _round_ratio(numerator, denominator, digits):
    """Round numerator / denominator half-up to digits decimals.

    Integer arithmetic keeps the rounding exact whatever the size of the
    operands, where a Decimal product would first be rounded to the
    precision of the context (and is much faster than Fraction objects).
    """
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    scaled = numerator * 10 ** digits
    units = (2 * abs(scaled) + denominator) // (2 * denominator)
    if scaled < 0:
        units = -units
    return Decimal(units).scaleb(-digits)


def _round(value, digits):
    "Round the exact value half-up to digits decimals"
    return _round_ratio(*_ratio(value), digits)


def _round_product(first, second, digits):
    "Round first * second (exact values) half-up to digits decimals"
    first_num, first_den = _ratio(first)
    second_num, second_den = _ratio(second)
    return _round_ratio(
        first_num * second_num, first_den * second_den, digits)


def round_money(value):
    "Round an amount to 0.01 yuan with ROUND_HALF_UP"
    return _round(value, MONEY_DIGITS)


def _days(start, end):
    "Number of days from start to end, both included"
    return (end - start).days + 1


def tier_year_start(date, month=1, day=1):
    "Return the first day of the tier year starting on month/day of date"
    start = dt.date(date.year, month, day)
    if start > date:
        start = dt.date(date.year - 1, month, day)
    return start


def split_by_days(quantity, days, digits=0):
    """Split quantity into parts proportional to days.

    The cumulative rounding described in the module docstring makes the
    parts add up exactly to quantity, which must have at most digits
    decimals.
    """
    quantity = _check_digits(_decimal(quantity, 'quantity'), digits,
        'quantity')
    days = list(days)
    if not days or any(not isinstance(d, int) or d <= 0 for d in days):
        raise PricingError(
            'split_days', 'Days to split by must be positive integers.')
    total = sum(days)
    numerator, denominator = quantity.as_integer_ratio()
    parts, covered, previous = [], 0, _round(0, digits)
    for count in days:
        covered += count
        current = _round_ratio(
            numerator * covered, denominator * total, digits)
        parts.append(current - previous)
        previous = current
    return parts


@dataclass(frozen=True)
class Tier:
    """A step of a tiered price.

    upper is the cumulative usage at which the tier ends (None for the last
    tier) and price the unit price of the usage inside the tier.
    """
    upper: Optional[Decimal]
    price: Decimal

    def __post_init__(self):
        if self.upper is not None:
            object.__setattr__(
                self, 'upper', _decimal(self.upper, 'tier upper bound'))
        object.__setattr__(self, 'price', _non_negative(
                self.price, 'tier price', 'negative_price'))


@dataclass(frozen=True)
class Component:
    "A priced part of the usage, billed on its own lines"
    code: str
    name: str
    unit_price: Optional[Decimal] = None
    tiers: Tuple[Tier, ...] = ()

    def __post_init__(self):
        tiers = tuple(t if isinstance(t, Tier) else Tier(*t)
            for t in self.tiers or ())
        object.__setattr__(self, 'tiers', tiers)
        if (self.unit_price is None) == (not tiers):
            raise PricingError(
                'component_price',
                'Component "%(component)s" must have either a unit price '
                'or tiers.', component=self.code)
        if self.unit_price is not None:
            object.__setattr__(self, 'unit_price', _non_negative(
                    self.unit_price, 'unit price', 'negative_price'))
        previous = _ZERO
        for index, tier in enumerate(tiers, 1):
            last = index == len(tiers)
            if (tier.upper is None) != last:
                raise PricingError(
                    'tier_open',
                    'Only the last tier of component "%(component)s" must '
                    'have no upper bound.', component=self.code)
            if tier.upper is not None and tier.upper <= previous:
                raise PricingError(
                    'tier_order',
                    'The upper bounds of the tiers of component '
                    '"%(component)s" must be positive and increasing.',
                    component=self.code)
            if tier.upper is not None:
                previous = tier.upper

    @property
    def tiered(self):
        return bool(self.tiers)

    def split(self, before, quantity):
        """Yield (tier index, unit price, quantity) for quantity consumed
        after before units were already counted in the tier period.

        A flat component has the single tier index None.
        """
        if not self.tiers:
            yield None, self.unit_price, quantity
            return
        start, end = before, before + quantity
        lower = _ZERO
        for index, tier in enumerate(self.tiers, 1):
            upper = tier.upper
            low = max(start, lower)
            high = end if upper is None else min(end, upper)
            if high > low:
                yield index, tier.price, high - low
            if upper is None or upper >= end:
                break
            lower = upper


@dataclass(frozen=True)
class FixedCharge:
    "An amount per calendar month, prorated by days"
    code: str
    name: str
    amount: Decimal

    def __post_init__(self):
        object.__setattr__(self, 'amount', _non_negative(
                self.amount, 'fixed charge', 'negative_amount'))


@dataclass(frozen=True)
class TariffVersion:
    "The prices in force from valid_from to valid_to (both included)"
    valid_from: dt.date
    valid_to: Optional[dt.date]
    components: Tuple[Component, ...] = ()
    free_quota: Decimal = _ZERO
    minimum_charge: Decimal = _ZERO
    fixed_charges: Tuple[FixedCharge, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, 'components', tuple(self.components))
        object.__setattr__(self, 'fixed_charges', tuple(self.fixed_charges))
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise PricingError(
                'version_dates',
                'The tariff version starting on %(date)s ends before it '
                'starts.', date=self.valid_from)
        object.__setattr__(self, 'free_quota', _non_negative(
                self.free_quota, 'free quota', 'negative_quota'))
        object.__setattr__(self, 'minimum_charge', _non_negative(
                self.minimum_charge, 'minimum charge', 'negative_amount'))
        for name, records in [
                ('components', self.components),
                ('fixed_charges', self.fixed_charges)]:
            codes = [r.code for r in records]
            if len(set(codes)) != len(codes):
                raise PricingError(
                    'duplicate_code',
                    'The tariff version starting on %(date)s has the same '
                    'code twice in its %(name)s.',
                    date=self.valid_from, name=name)

    def covers(self, date):
        return (self.valid_from <= date
            and (self.valid_to is None or date <= self.valid_to))


@dataclass(frozen=True)
class Tariff:
    "The versions of a tariff and the rules that do not change with prices"
    versions: Tuple[TariffVersion, ...]
    tier_basis: str = TIER_MONTH
    tier_year_start: Tuple[int, int] = (1, 1)
    carry_over: bool = False

    def __post_init__(self):
        versions = tuple(sorted(self.versions, key=lambda v: v.valid_from))
        object.__setattr__(self, 'versions', versions)
        if not versions:
            raise PricingError(
                'no_version', 'A tariff needs at least one version.')
        for previous, version in zip(versions, versions[1:]):
            if (previous.valid_to is None
                    or previous.valid_to >= version.valid_from):
                raise PricingError(
                    'version_overlap',
                    'The tariff versions starting on %(first)s and '
                    '%(second)s overlap.',
                    first=previous.valid_from, second=version.valid_from)
        if self.tier_basis not in TIER_BASES:
            raise PricingError(
                'tier_basis', 'Unknown tier basis "%(basis)s".',
                basis=self.tier_basis)
        try:
            month, day = self.tier_year_start
            # A non-leap year: a tier year must start every year
            dt.date(2001, month, day)
        except (TypeError, ValueError):
            raise PricingError(
                'tier_year_start',
                'The tier year cannot start on %(start)s.',
                start=self.tier_year_start)
        object.__setattr__(self, 'tier_year_start', (month, day))

    def version_at(self, date):
        for version in self.versions:
            if version.covers(date):
                return version

    def tier_year(self, date):
        "Return the start of the tier year containing date"
        return tier_year_start(date, *self.tier_year_start)


@dataclass(frozen=True)
class _Part:
    "Days of the period priced by one version in one tier year"
    start: dt.date
    end: dt.date
    version: TariffVersion
    tier_year: Optional[dt.date]

    @property
    def days(self):
        return _days(self.start, self.end)


def _parts(tariff, start, end):
    "Cut the period where a version or a tier year changes"
    cuts = set()
    for version in tariff.versions:
        cuts.add(version.valid_from)
        if version.valid_to is not None:
            cuts.add(version.valid_to + _ONE_DAY)
    if tariff.tier_basis == TIER_YEAR:
        month, day = tariff.tier_year_start
        for year in range(start.year, end.year + 1):
            cuts.add(dt.date(year, month, day))
    cuts = sorted(c for c in cuts if start < c <= end)
    parts = []
    for first, following in zip([start] + cuts, cuts + [end + _ONE_DAY]):
        version = tariff.version_at(first)
        if version is None:
            raise PricingError(
                'version_missing',
                'No tariff version is in force on %(date)s.', date=first)
        tier_year = (tariff.tier_year(first)
            if tariff.tier_basis == TIER_YEAR else None)
        parts.append(_Part(first, following - _ONE_DAY, version, tier_year))
    return parts


def _months(start, end):
    "Yield (days, days in month) of each calendar month from start to end"
    while start <= end:
        length = calendar.monthrange(start.year, start.month)[1]
        month_end = min(end, start.replace(day=length))
        yield _days(start, month_end), length
        start = month_end + _ONE_DAY


def _prorate(parts, value):
    "Prorate a per-period figure of the versions by days"
    if len(parts) == 1:
        return value(parts[0].version)
    numerator, denominator, total = 0, 1, 0
    for part in parts:
        part_numerator, part_denominator = _ratio(value(part.version))
        numerator = (numerator * part_denominator
            + part_numerator * part.days * denominator)
        denominator *= part_denominator
        total += part.days
    return Fraction(numerator, denominator * total)


@dataclass(frozen=True)
class BillLine:
    "A line of a bill; amount is quantity * unit_price rounded half-up"
    kind: str
    code: Optional[str]
    name: Optional[str]
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    tier: Optional[int]
    start: dt.date
    end: dt.date

    def as_dict(self):
        return asdict(self)


@dataclass(frozen=True)
class BillResult:
    """The computed bill of a period and what the caller must store.

    tier_usage is the cumulative billable usage of tier year tier_year at
    the end of the period (both None for monthly tiers); carry_out is the
    free quota to carry into the next period.
    """
    start: dt.date
    end: dt.date
    usage: Decimal
    free_quantity: Decimal
    billable: Decimal
    lines: Tuple[BillLine, ...]
    energy_amount: Decimal
    total: Decimal
    carry_out: Decimal
    tier_year: Optional[dt.date]
    tier_usage: Optional[Decimal]

    def lines_of(self, kind):
        return [l for l in self.lines if l.kind == kind]


def compute_bill(tariff, start, end, usage, digits=2, tier_usage=0,
        tier_year=None, carried_quota=0):
    """Price usage consumed from start to end (both included).

    digits is the number of decimals of the meter; usage, tier_usage and
    carried_quota must not have more.  tier_usage is the billable usage of
    tier year tier_year before start (ignored for monthly tiers; when
    tier_year is None it is taken to be the tier year of start).
    carried_quota is the free quota carried in from the previous period.
    """
    if end < start:
        raise PricingError(
            'period_dates', 'The period ends on %(end)s before it starts '
            'on %(start)s.', start=start, end=end)
    usage = _check_digits(
        _non_negative(usage, 'usage', 'negative_usage'), digits, 'usage')
    carried = _check_digits(
        _non_negative(carried_quota, 'carried quota', 'negative_quota'),
        digits, 'carried quota')
    parts = _parts(tariff, start, end)
    quantities = split_by_days(usage, [p.days for p in parts], digits)

    available = carried + _round(
        _prorate(parts, lambda v: v.free_quota), digits)
    free = min(usage, available)
    carry_out = available - free if tariff.carry_over else _round(0, digits)
    billables, to_deduct = [], free
    for quantity in quantities:
        deducted = min(quantity, to_deduct)
        to_deduct -= deducted
        billables.append(quantity - deducted)

    if tariff.tier_basis == TIER_YEAR:
        current_year = tariff.tier_year(start)
        cumulative = _check_digits(
            _non_negative(tier_usage, 'tier usage', 'negative_usage'),
            digits, 'tier usage')
        if tier_year is not None and tier_year > current_year:
            raise PricingError(
                'tier_year',
                'The tier usage of the tier year starting on %(year)s '
                'cannot be used for a period starting on %(start)s.',
                year=tier_year, start=start)
        if tier_year is not None and tier_year < current_year:
            cumulative = _round(0, digits)
    else:
        current_year, cumulative = None, _round(0, digits)

    merged, order, last_of = [], {}, {}
    for part, quantity in zip(parts, billables):
        if part.tier_year != current_year:
            current_year, cumulative = part.tier_year, _round(0, digits)
        for component in part.version.components:
            order.setdefault(component.code, len(order))
            for index, price, split in component.split(cumulative, quantity):
                if not split:
                    continue
                # Same price on adjacent days is one line on the bill
                key = (component.code, index, price)
                previous = last_of.get(key)
                if previous and previous[5] + _ONE_DAY == part.start:
                    previous[3] += split
                    previous[5] = part.end
                else:
                    last_of[key] = line = [
                        component, index, price, split, part.start, part.end]
                    merged.append(line)
        cumulative += quantity
    merged.sort(key=lambda l: (order[l[0].code], l[4], l[1] or 0))

    lines = []
    if free:
        lines.append(BillLine(
                kind=LINE_FREE, code=None, name=None, quantity=free,
                unit_price=_ZERO, amount=round_money(0), tier=None, start=start, end=end))
    for component, index, price, quantity, first, last in merged:
        lines.append(BillLine(
                kind=LINE_USAGE, code=component.code, name=component.name,
                quantity=quantity, unit_price=price,
                amount=_round_product(quantity, price, MONEY_DIGITS),
                tier=index, start=first, end=last))
    energy = sum((l.amount for l in lines if l.kind == LINE_USAGE),
        round_money(0))

    minimum = round_money(_prorate(parts, lambda v: v.minimum_charge))
    if energy < minimum:
        lines.append(BillLine(
                kind=LINE_MINIMUM, code=None, name=None, quantity=Decimal(1),
                unit_price=minimum - energy, amount=minimum - energy,
                tier=None, start=start, end=end))

    fixed = {}
    for part in parts:
        for charge in part.version.fixed_charges:
            months = sum((Fraction(days, length)
                    for days, length in _months(part.start, part.end)),
                Fraction(0))
            key = (charge.code, charge.amount)
            if key in fixed:
                entry = fixed[key]
                entry[1] += months
                entry[3] = part.end
            else:
                fixed[key] = [charge, months, part.start, part.end]
    for charge, months, first, last in fixed.values():
        lines.append(BillLine(
                kind=LINE_FIXED, code=charge.code, name=charge.name,
                quantity=_round(months, MONTH_DIGITS),
                unit_price=charge.amount,
                amount=round_money(months * Fraction(charge.amount)),
                tier=None, start=first, end=last))

    return BillResult(
        start=start, end=end, usage=usage, free_quantity=free,
        billable=usage - free, lines=tuple(lines), energy_amount=energy,
        total=sum((l.amount for l in lines), round_money(0)),
        carry_out=carry_out,
        tier_year=current_year,
        tier_usage=cumulative if tariff.tier_basis == TIER_YEAR else None)


@dataclass(frozen=True)
class OpenBill:
    """A bill with an amount still to pay.

    key identifies the bill for the caller (e.g. its id); number and
    due_date order the bills; amount is what remains to pay.
    """
    key: Any
    number: str
    due_date: Optional[dt.date]
    amount: Decimal


@dataclass(frozen=True)
class Allocation:
    "The part of a payment given to a bill and what remains due on it"
    key: Any
    number: str
    amount: Decimal
    remaining: Decimal


@dataclass(frozen=True)
class PaymentAllocation:
    allocations: Tuple[Allocation, ...] = field(default_factory=tuple)
    remainder: Decimal = _ZERO


def allocate_payment(amount, open_bills):
    """Allocate a payment to the open bills, the oldest first.

    Bills are ordered by due date (bills without one last), then by number
    (compared as text, as sequences are zero-padded), then as given.  Each
    bill receives the smaller of its open amount and what is left of the
    payment; what is left after the last bill is the remainder, e.g. an
    advance or an overpayment.  Bills with nothing open are skipped.
    """
    amount = _non_negative(amount, 'payment', 'negative_payment')
    bills = list(open_bills)
    keys = [b.key for b in bills]
    if len(set(keys)) != len(keys):
        raise PricingError(
            'duplicate_bill', 'The same bill is given twice.')
    for bill in bills:
        _non_negative(bill.amount, 'open amount', 'negative_amount')
    bills.sort(key=lambda b: (
            b.due_date is None, b.due_date or dt.date.min, b.number or ''))
    allocations = []
    with decimal.localcontext() as context:
        # Only additions and subtractions: exact at any precision
        context.prec = decimal.MAX_PREC
        left = amount
        for bill in bills:
            open_amount = _decimal(bill.amount, 'open amount')
            if not open_amount or not left:
                continue
            given = min(open_amount, left)
            left -= given
            allocations.append(Allocation(
                    key=bill.key, number=bill.number, amount=given,
                    remaining=open_amount - given))
    return PaymentAllocation(allocations=tuple(allocations), remainder=left)
