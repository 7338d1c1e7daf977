# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""Tests of the tariff arithmetic; every expected figure is worked out by
hand in the comment above it."""
import datetime as dt
import unittest
from decimal import Decimal as D

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from trytond.modules.meter_billing.rules.pricing import (
    LINE_FIXED, LINE_FREE, LINE_MINIMUM, LINE_USAGE, Component, FixedCharge,
    OpenBill, PricingError, Tariff, TariffVersion, Tier, allocate_payment,
    compute_bill, split_by_days, tier_year_start)

MARCH = (dt.date(2024, 3, 1), dt.date(2024, 3, 31))


def water(price='3.20'):
    return Component('water', '水费', unit_price=D(price))


def electricity_tiers(*prices):
    bounds = (D(200), D(400), None)
    return Component('power', '电费',
        tiers=[(b, D(p)) for b, p in zip(bounds, prices)])


def tariff(*components, **options):
    version_options = {k: options.pop(k) for k in [
            'free_quota', 'minimum_charge', 'fixed_charges']
        if k in options}
    return Tariff([TariffVersion(
                dt.date(2020, 1, 1), None, components, **version_options)],
        **options)


def amounts(result, kind=LINE_USAGE):
    return [(l.code, l.tier, l.quantity, l.unit_price, l.amount)
        for l in result.lines_of(kind)]


class PricingTestCase(unittest.TestCase):
    "Business cases of the tariff arithmetic"

    def test_flat(self):
        result = compute_bill(tariff(water()), *MARCH, D('12.34'), digits=2)
        # 12.34 m³ × 3.20 = 39.488 → 39.49
        self.assertEqual(amounts(result), [
                ('water', None, D('12.34'), D('3.20'), D('39.49'))])
        self.assertEqual(result.total, D('39.49'))
        self.assertIsNone(result.lines[0].tier)
        self.assertEqual(
            (result.lines[0].start, result.lines[0].end), MARCH)

    def test_tiered_monthly(self):
        result = compute_bill(
            tariff(electricity_tiers('0.5283', '0.5783', '0.8283')),
            *MARCH, D('260'), digits=0)
        # tier 1: 200 kWh × 0.5283 = 105.66
        # tier 2: (260 − 200) = 60 kWh × 0.5783 = 34.698 → 34.70
        # total 105.66 + 34.70 = 140.36
        self.assertEqual(amounts(result), [
                ('power', 1, D(200), D('0.5283'), D('105.66')),
                ('power', 2, D(60), D('0.5783'), D('34.70')),
                ])
        self.assertEqual([l.tier for l in result.lines], [1, 2])
        self.assertEqual(result.total, D('140.36'))
        self.assertIsNone(result.tier_usage)

    def test_tiered_monthly_restarts_each_period(self):
        "Monthly bounds ignore the usage of previous periods"
        result = compute_bill(
            tariff(electricity_tiers('0.5', '0.6', '0.8')),
            *MARCH, D('150'), digits=0, tier_usage=D('1000'))
        # 150 kWh all in tier 1: 150 × 0.5 = 75.00
        self.assertEqual(amounts(result), [
                ('power', 1, D(150), D('0.5'), D('75.00'))])

    def yearly_water(self, month=1, day=1):
        return tariff(Component('water', '水费', tiers=[
                    (D(180), D(5)), (D(260), D(7)), (None, D(9))]),
            tier_basis='year', tier_year_start=(month, day))

    def test_tiered_yearly_cumulative(self):
        result = compute_bill(
            self.yearly_water(), dt.date(2024, 5, 1), dt.date(2024, 5, 31),
            D(25), digits=0, tier_usage=D(170),
            tier_year=dt.date(2024, 1, 1))
        # 170 m³ already used this year, 25 more reach 195:
        # tier 1: 180 − 170 = 10 m³ × 5 = 50.00
        # tier 2: 195 − 180 = 15 m³ × 7 = 105.00
        # total 155.00, year-to-date 195
        self.assertEqual(amounts(result), [
                ('water', 1, D(10), D(5), D('50.00')),
                ('water', 2, D(15), D(7), D('105.00')),
                ])
        self.assertEqual(result.total, D('155.00'))
        self.assertEqual(result.tier_usage, D(195))
        self.assertEqual(result.tier_year, dt.date(2024, 1, 1))

    def test_tiered_yearly_stale_year_counts_zero(self):
        result = compute_bill(
            self.yearly_water(), dt.date(2024, 5, 1), dt.date(2024, 5, 31),
            D(25), digits=0, tier_usage=D(170),
            tier_year=dt.date(2023, 1, 1))
        # The 170 m³ belong to 2023: 25 m³ × 5 = 125.00 in tier 1
        self.assertEqual(amounts(result), [
                ('water', 1, D(25), D(5), D('125.00'))])
        self.assertEqual(result.tier_usage, D(25))

    def test_tiered_yearly_future_year(self):
        with self.assertRaises(PricingError) as cm:
            compute_bill(
                self.yearly_water(), dt.date(2024, 5, 1),
                dt.date(2024, 5, 31), D(25), digits=0, tier_usage=D(170),
                tier_year=dt.date(2025, 1, 1))
        self.assertEqual(cm.exception.code, 'tier_year')

    def test_period_crossing_tier_year_start(self):
        result = compute_bill(
            self.yearly_water(month=7), dt.date(2024, 6, 11),
            dt.date(2024, 7, 10), D(45), digits=0, tier_usage=D(170),
            tier_year=dt.date(2023, 7, 1))
        # 30 days: 20 in June (old tier year) and 10 in July (new one)
        # before: 45 × 20/30 = 30 m³, after: 45 × 10/30 = 15 m³
        # before continues 170 → 200:
        #   tier 1: 180 − 170 = 10 m³ × 5 = 50.00
        #   tier 2: 200 − 180 = 20 m³ × 7 = 140.00
        # after starts at 0 → 15: tier 1: 15 m³ × 5 = 75.00
        # tier 1 at 5.00 on adjacent days is one line: 25 m³ = 125.00
        # total 125.00 + 140.00 = 265.00, new year-to-date 15
        self.assertEqual(amounts(result), [
                ('water', 1, D(25), D(5), D('125.00')),
                ('water', 2, D(20), D(7), D('140.00')),
                ])
        tier2, = [l for l in result.lines if l.tier == 2]
        self.assertEqual(
            (tier2.start, tier2.end),
            (dt.date(2024, 6, 11), dt.date(2024, 6, 30)))
        self.assertEqual(result.total, D('265.00'))
        self.assertEqual(result.tier_usage, D(15))
        self.assertEqual(result.tier_year, dt.date(2024, 7, 1))

    def test_price_change_mid_period(self):
        tariff_ = Tariff([
                TariffVersion(dt.date(2020, 1, 1), dt.date(2024, 3, 10),
                    [water('3.20')]),
                TariffVersion(dt.date(2024, 3, 11), None, [water('3.50')]),
                ])
        result = compute_bill(tariff_, *MARCH, D(62), digits=0)
        # March has 31 days: 10 at the old price, 21 at the new one
        # old: 62 × 10/31 = 20 m³ × 3.20 = 64.00
        # new: 62 × 21/31 = 42 m³ × 3.50 = 147.00
        # total 211.00
        self.assertEqual(amounts(result), [
                ('water', None, D(20), D('3.20'), D('64.00')),
                ('water', None, D(42), D('3.50'), D('147.00')),
                ])
        self.assertEqual(
            [(l.start, l.end) for l in result.lines], [
                (dt.date(2024, 3, 1), dt.date(2024, 3, 10)),
                (dt.date(2024, 3, 11), dt.date(2024, 3, 31))])
        self.assertEqual(result.total, D('211.00'))

    def test_price_change_keeps_counting_tiers(self):
        tariff_ = Tariff([
                TariffVersion(dt.date(2020, 1, 1), dt.date(2024, 3, 10),
                    [electricity_tiers('0.50', '0.60', '0.80')]),
                TariffVersion(dt.date(2024, 3, 11), None,
                    [electricity_tiers('0.55', '0.65', '0.85')]),
                ])
        result = compute_bill(tariff_, *MARCH, D(310), digits=0)
        # old: 310 × 10/31 = 100 kWh, 0 → 100 in tier 1 × 0.50 = 50.00
        # new: 310 × 21/31 = 210 kWh, 100 → 310:
        #   tier 1: 200 − 100 = 100 kWh × 0.55 = 55.00
        #   tier 2: 310 − 200 = 110 kWh × 0.65 = 71.50
        # total 50.00 + 55.00 + 71.50 = 176.50
        self.assertEqual(amounts(result), [
                ('power', 1, D(100), D('0.50'), D('50.00')),
                ('power', 1, D(100), D('0.55'), D('55.00')),
                ('power', 2, D(110), D('0.65'), D('71.50')),
                ])
        self.assertEqual(result.total, D('176.50'))

    def test_two_components(self):
        result = compute_bill(
            tariff(water('3.20'),
                Component('sewage', '污水处理费', unit_price=D('0.95'))),
            *MARCH, D(15), digits=0)
        # water:  15 m³ × 3.20 = 48.00
        # sewage: 15 m³ × 0.95 = 14.25
        # total 62.25
        self.assertEqual(amounts(result), [
                ('water', None, D(15), D('3.20'), D('48.00')),
                ('sewage', None, D(15), D('0.95'), D('14.25')),
                ])
        self.assertEqual(
            [l.name for l in result.lines], ['水费', '污水处理费'])
        self.assertEqual(result.total, D('62.25'))

    def test_free_quota_carry_over(self):
        tariff_ = tariff(water('3.20'), free_quota=D(10), carry_over=True)
        march = compute_bill(tariff_, *MARCH, D(6), digits=0)
        # 10 m³ free, 6 used: nothing to pay, 10 − 6 = 4 m³ carried out
        self.assertEqual(march.free_quantity, D(6))
        self.assertEqual(amounts(march, LINE_FREE), [
                (None, None, D(6), D(0), D('0.00'))])
        self.assertEqual(march.lines_of(LINE_USAGE), [])
        self.assertEqual(march.total, D('0.00'))
        self.assertEqual(march.carry_out, D(4))

        april = compute_bill(
            tariff_, dt.date(2024, 4, 1), dt.date(2024, 4, 30), D(20),
            digits=0, carried_quota=march.carry_out)
        # 4 carried + 10 of April = 14 m³ free, 20 − 14 = 6 m³ billable
        # 6 m³ × 3.20 = 19.20, nothing left to carry
        self.assertEqual(april.free_quantity, D(14))
        self.assertEqual(amounts(april), [
                ('water', None, D(6), D('3.20'), D('19.20'))])
        self.assertEqual(april.total, D('19.20'))
        self.assertEqual(april.carry_out, D(0))

    def test_free_quota_without_carry_over(self):
        result = compute_bill(
            tariff(water(), free_quota=D(10)), *MARCH, D(6), digits=0)
        # The unused 4 m³ are lost
        self.assertEqual(result.carry_out, D(0))

    def test_free_quota_before_tiers(self):
        result = compute_bill(
            tariff(electricity_tiers('0.5', '0.6', '0.8'),
                free_quota=D(50)),
            *MARCH, D(300), digits=0)
        # 300 − 50 free = 250 kWh billable, counted from 0 in the tiers:
        # tier 1: 200 × 0.5 = 100.00, tier 2: 50 × 0.6 = 30.00
        self.assertEqual(amounts(result), [
                ('power', 1, D(200), D('0.5'), D('100.00')),
                ('power', 2, D(50), D('0.6'), D('30.00')),
                ])
        self.assertEqual(result.billable, D(250))

    def test_minimum_charge(self):
        tariff_ = tariff(water('3.20'), minimum_charge=D('10.00'))
        low = compute_bill(tariff_, *MARCH, D(2), digits=0)
        # 2 m³ × 3.20 = 6.40 < 10.00: a line of 10.00 − 6.40 = 3.60
        self.assertEqual(low.energy_amount, D('6.40'))
        self.assertEqual(amounts(low, LINE_MINIMUM), [
                (None, None, D(1), D('3.60'), D('3.60'))])
        self.assertEqual(low.total, D('10.00'))

        high = compute_bill(tariff_, *MARCH, D(5), digits=0)
        # 5 m³ × 3.20 = 16.00 ≥ 10.00: no minimum line
        self.assertEqual(high.lines_of(LINE_MINIMUM), [])
        self.assertEqual(high.total, D('16.00'))

    def test_minimum_charge_without_usage(self):
        result = compute_bill(
            tariff(water(), minimum_charge=D('10.00')), *MARCH, D(0),
            digits=0)
        # No usage line, the minimum line makes the whole 10.00
        self.assertEqual([l.kind for l in result.lines], [LINE_MINIMUM])
        self.assertEqual(result.total, D('10.00'))

    def test_fixed_monthly_charge(self):
        tariff_ = tariff(water(), fixed_charges=[
                FixedCharge('maintenance', '水表维护费', D('3.00'))])
        whole = compute_bill(tariff_, *MARCH, D(0), digits=0)
        # One whole month: 1 × 3.00
        self.assertEqual(amounts(whole, LINE_FIXED), [
                ('maintenance', None, D('1.0000'), D('3.00'), D('3.00'))])

        two = compute_bill(
            tariff_, dt.date(2024, 2, 1), dt.date(2024, 3, 31), D(0),
            digits=0)
        # February (29 days) and March (31 days) are two whole months:
        # 2 × 3.00 = 6.00
        self.assertEqual(two.total, D('6.00'))

        partial = compute_bill(
            tariff_, dt.date(2024, 3, 17), dt.date(2024, 4, 15), D(10),
            digits=0)
        # 15 of 31 days of March and 15 of 30 days of April:
        # 3.00 × 15/31 + 3.00 × 15/30 = 1.451612… + 1.5 = 2.951612… → 2.95
        # months: 15/31 + 15/30 = 0.983870… → 0.9839
        # with 10 m³ × 3.20 = 32.00, total 34.95
        self.assertEqual(amounts(partial, LINE_FIXED), [
                ('maintenance', None, D('0.9839'), D('3.00'), D('2.95'))])
        self.assertEqual(partial.total, D('34.95'))

    def test_rounding_half_up_per_line(self):
        result = compute_bill(
            tariff(Component('water', '水费', unit_price=D('0.125')),
                Component('sewage', '污水处理费', unit_price=D('0.125'))),
            *MARCH, D(1), digits=0)
        # each line 1 × 0.125 = 0.125 → 0.13 (half-up, not half-even 0.12)
        # total = 0.13 + 0.13 = 0.26, not round(0.125 + 0.125) = 0.25
        self.assertEqual(
            [l.amount for l in result.lines], [D('0.13'), D('0.13')])
        self.assertEqual(result.total, D('0.26'))

    def test_usage_with_decimals(self):
        tariff_ = Tariff([
                TariffVersion(dt.date(2020, 1, 1), dt.date(2024, 3, 10),
                    [water('3.20')]),
                TariffVersion(dt.date(2024, 3, 11), None, [water('3.50')]),
                ])
        result = compute_bill(tariff_, *MARCH, D('10.00'), digits=2)
        # old: 10.00 × 10/31 = 3.2258… → 3.23, new: 10.00 − 3.23 = 6.77
        # 3.23 × 3.20 = 10.336 → 10.34; 6.77 × 3.50 = 23.695 → 23.70
        # total 34.04
        self.assertEqual(
            [l.quantity for l in result.lines], [D('3.23'), D('6.77')])
        self.assertEqual(result.total, D('34.04'))

    def test_payment_allocation(self):
        bills = [
            OpenBill(2, 'B0002', dt.date(2024, 2, 15), D('100.00')),
            OpenBill(3, 'B0003', dt.date(2024, 2, 15), D('50.00')),
            OpenBill(1, 'B0001', dt.date(2024, 1, 15), D('80.00')),
            ]
        partial = allocate_payment(D('150.00'), bills)
        # oldest due date first: B0001 takes 80.00, 150 − 80 = 70 left;
        # B0002 and B0003 are due the same day, by number B0002 first:
        # 70.00 of its 100.00, 30.00 still due; nothing left for B0003
        self.assertEqual(
            [(a.key, a.amount, a.remaining) for a in partial.allocations],
            [(1, D('80.00'), D('0.00')), (2, D('70.00'), D('30.00'))])
        self.assertEqual(partial.remainder, D('0.00'))

        over = allocate_payment(D('300.00'), bills)
        # 80.00 + 100.00 + 50.00 = 230.00, 300 − 230 = 70.00 remains
        self.assertEqual(
            [(a.key, a.amount) for a in over.allocations],
            [(1, D('80.00')), (2, D('100.00')), (3, D('50.00'))])
        self.assertEqual(over.remainder, D('70.00'))

    def test_payment_allocation_without_due_date_last(self):
        result = allocate_payment(D('10'), [
                OpenBill('a', 'A', None, D('10')),
                OpenBill('b', 'B', dt.date(2024, 1, 1), D('0')),
                OpenBill('c', 'C', dt.date(2024, 6, 1), D('4')),
                ])
        # c (dated) 4, then a (no due date) 6; b has nothing open
        self.assertEqual(
            [(a.key, a.amount) for a in result.allocations],
            [('c', D('4')), ('a', D('6'))])
        self.assertEqual(result.remainder, D('0'))

    def test_split_by_days(self):
        # 0.03 over 6 equal days: cumulative shares 0.005 → 0.01,
        # 0.01 → 0.01, 0.015 → 0.02, 0.02, 0.025 → 0.03, 0.03
        self.assertEqual(split_by_days(D('0.03'), [1] * 6, 2), [
                D('0.01'), D('0.00'), D('0.01'), D('0.00'), D('0.01'),
                D('0.00')])
        self.assertEqual(tier_year_start(dt.date(2024, 6, 30), 7, 1),
            dt.date(2023, 7, 1))
        self.assertEqual(tier_year_start(dt.date(2024, 7, 1), 7, 1),
            dt.date(2024, 7, 1))


class PricingErrorTestCase(unittest.TestCase):
    "Invalid inputs raise PricingError with a stable code"

    def assertCode(self, code, function, *args, **kwargs):
        with self.assertRaises(PricingError) as cm:
            function(*args, **kwargs)
        self.assertEqual(cm.exception.code, code)
        self.assertIsInstance(cm.exception, ValueError)

    def test_tier_order(self):
        self.assertCode('tier_order', Component, 'w', 'W',
            tiers=[(D(10), D(1)), (D(5), D(2)), (None, D(3))])
        self.assertCode('tier_order', Component, 'w', 'W',
            tiers=[(D(0), D(1)), (None, D(3))])

    def test_tier_open(self):
        self.assertCode('tier_open', Component, 'w', 'W',
            tiers=[(D(10), D(1)), (D(20), D(2))])
        self.assertCode('tier_open', Component, 'w', 'W',
            tiers=[(None, D(1)), (D(20), D(2))])

    def test_component_price(self):
        self.assertCode('component_price', Component, 'w', 'W')
        self.assertCode('component_price', Component, 'w', 'W',
            unit_price=D(1), tiers=[Tier(None, D(1))])

    def test_negative_price(self):
        self.assertCode('negative_price', Component, 'w', 'W',
            unit_price=D('-1'))

    def test_float_refused(self):
        with self.assertRaises(TypeError):
            Component('w', 'W', unit_price=0.1)

    def test_versions(self):
        self.assertCode('version_overlap', Tariff, [
                TariffVersion(dt.date(2024, 1, 1), None, [water()]),
                TariffVersion(dt.date(2024, 3, 1), None, [water()])])
        self.assertCode('version_dates', TariffVersion,
            dt.date(2024, 3, 1), dt.date(2024, 2, 1), [water()])
        self.assertCode('duplicate_code', TariffVersion,
            dt.date(2024, 3, 1), None, [water(), water()])
        gap = Tariff([TariffVersion(dt.date(2024, 3, 5), None, [water()])])
        self.assertCode('version_missing', compute_bill, gap, *MARCH, D(1))

    def test_tariff_rules(self):
        self.assertCode('tier_basis', tariff, water(), tier_basis='week')
        self.assertCode('tier_year_start', tariff, water(),
            tier_year_start=(2, 29))
        self.assertCode('tier_year_start', tariff, water(),
            tier_year_start=(7,))

    def test_bill_inputs(self):
        self.assertCode('negative_usage', compute_bill, tariff(water()),
            *MARCH, D(-1))
        self.assertCode('quantity_digits', compute_bill, tariff(water()),
            *MARCH, D('1.5'), digits=0)
        self.assertCode('period_dates', compute_bill, tariff(water()),
            MARCH[1], MARCH[0], D(1))
        self.assertCode('digits', compute_bill, tariff(water()),
            *MARCH, D(1), digits=-1)

    def test_payment_inputs(self):
        self.assertCode('negative_payment', allocate_payment, D(-1), [])
        self.assertCode('negative_amount', allocate_payment, D(1),
            [OpenBill(1, 'B1', None, D(-5))])
        self.assertCode('duplicate_bill', allocate_payment, D(1),
            [OpenBill(1, 'B1', None, D(5)), OpenBill(1, 'B1', None, D(5))])


def _money(max_units=10 ** 6, places=2):
    return st.integers(0, max_units).map(lambda n: D(n).scaleb(-places))


@st.composite
def components(draw):
    code = draw(st.sampled_from(['water', 'sewage', 'power']))
    if draw(st.booleans()):
        return Component(code, code, unit_price=draw(_money(500, 4)))
    bounds = sorted(draw(st.sets(st.integers(1, 2000), max_size=3)))
    prices = [draw(_money(500, 4)) for _ in range(len(bounds) + 1)]
    return Component(code, code,
        tiers=list(zip([D(b) for b in bounds] + [None], prices)))


@st.composite
def versions(draw, valid_from, valid_to):
    return TariffVersion(valid_from, valid_to,
        draw(st.lists(components(), max_size=3, unique_by=lambda c: c.code)),
        free_quota=draw(st.sampled_from([D(0), D(0), D(5), D('2.5')])),
        minimum_charge=draw(st.sampled_from([D(0), D(0), D('10.00')])),
        fixed_charges=draw(st.sampled_from([[], [
                        FixedCharge('fee', 'fee', draw(_money(1000)))]])))


@st.composite
def tariffs(draw, single=False):
    cuts = [] if single else sorted(draw(st.sets(
                st.dates(dt.date(2024, 1, 2), dt.date(2024, 12, 31)),
                max_size=3)))
    starts = [dt.date(2020, 1, 1)] + cuts
    ends = [c - dt.timedelta(days=1) for c in cuts] + [None]
    return Tariff(
        [draw(versions(s, e)) for s, e in zip(starts, ends)],
        tier_basis=draw(st.sampled_from(['month', 'year'])),
        tier_year_start=draw(st.sampled_from([(1, 1), (7, 1), (9, 1)])),
        carry_over=draw(st.booleans()))


class PricingPropertyTestCase(unittest.TestCase):
    "Properties that hold for any tariff"

    @settings(max_examples=300, deadline=None)
    @given(tariffs(), st.dates(dt.date(2024, 1, 1), dt.date(2024, 12, 31)),
        st.integers(0, 95), _money(10 ** 6), _money(10 ** 5),
        _money(1000))
    def test_total_is_sum_of_lines(self, tariff_, start, length, usage,
            tier_usage, carried):
        result = compute_bill(tariff_, start,
            start + dt.timedelta(days=length), usage, digits=2,
            tier_usage=tier_usage, carried_quota=carried)
        self.assertEqual(result.total, sum(l.amount for l in result.lines))
        for line in result.lines:
            self.assertEqual(line.amount, line.amount.quantize(D('0.01')))
            self.assertGreaterEqual(line.amount, 0)
        # Every billable unit is priced once by each component
        by_code = {}
        for line in result.lines_of(LINE_USAGE):
            by_code[line.code] = by_code.get(line.code, 0) + line.quantity
        for quantity in by_code.values():
            self.assertLessEqual(quantity, result.billable)
        self.assertEqual(result.free_quantity + result.billable, usage)

    @settings(max_examples=300, deadline=None)
    @given(tariffs(single=True), st.integers(0, 27),
        st.sampled_from([1, 2, 3, 4, 5, 6]), _money(10 ** 5),
        _money(10 ** 3), _money(10 ** 5), _money(100))
    def test_amount_monotonic_in_usage(self, tariff_, day, month, usage,
            extra, tier_usage, carried):
        # Within one version and one tier year (January to June never
        # crosses the tier years starting on January, July or September)
        start = dt.date(2024, month, 1) + dt.timedelta(days=day)
        end = dt.date(2024, month, 28)
        assume(start <= end)

        def total(quantity):
            return compute_bill(tariff_, start, end, quantity, digits=2,
                tier_usage=tier_usage, carried_quota=carried).total
        self.assertLessEqual(total(usage), total(usage + extra))

    @given(st.integers(0, 10 ** 9), st.integers(0, 4),
        st.lists(st.integers(1, 400), min_size=1, max_size=8))
    def test_split_by_days_conserves(self, units, digits, days):
        quantity = D(units).scaleb(-digits)
        parts = split_by_days(quantity, days, digits)
        self.assertEqual(sum(parts), quantity)
        unit = D(1).scaleb(-digits)
        for part, count in zip(parts, days):
            self.assertGreaterEqual(part, 0)
            # Within one unit of the last decimal of the exact share
            self.assertLess(abs(part - quantity * count / sum(days)),
                unit + D('1e-20'))

    @given(_money(10 ** 6), st.lists(st.tuples(
                st.one_of(st.none(), st.dates()), _money(10 ** 5)),
            max_size=8))
    def test_allocation_conserves(self, amount, bills):
        open_bills = [OpenBill(i, 'B%04d' % i, d, a)
            for i, (d, a) in enumerate(bills)]
        result = allocate_payment(amount, open_bills)
        allocated = sum(a.amount for a in result.allocations)
        self.assertEqual(allocated + result.remainder, amount)
        self.assertGreaterEqual(result.remainder, 0)
        due = {b.key: b.amount for b in open_bills}
        for allocation in result.allocations:
            self.assertGreater(allocation.amount, 0)
            self.assertEqual(
                allocation.amount + allocation.remaining,
                due[allocation.key])
        if result.remainder:
            self.assertEqual(allocated, sum(due.values()))
