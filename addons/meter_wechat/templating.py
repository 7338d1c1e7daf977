"""The Jinja environment of the H5 pages, with the filters and globals
their templates use: times on the centre's clock, days as the pages write
them, the selections' and anomalies' labels."""
import os
from decimal import Decimal

from jinja2 import (
    ChoiceLoader, Environment, FileSystemLoader, pass_context,
    select_autoescape)

from trytond.i18n import gettext
from trytond.modules.meter_base.configuration import to_local

from .labels import anomaly, label, selection

HERE = os.path.dirname(__file__)
# WeChat's JS-SDK, which the WeChat client loads for the pages it opens
JWEIXIN = 'https://res.wx.qq.com/open/js/jweixin-1.6.0.js'

templates = Environment(
    loader=ChoiceLoader([FileSystemLoader(os.path.join(HERE, 'templates'))]),
    autoescape=select_autoescape(['html']))


def add_templates(directory):
    """Add the templates of another set of pages (meter_field's), which
    extend base.html; name them in a folder of their own (field/...)."""
    templates.loader.loaders.append(FileSystemLoader(directory))


@pass_context
def _local(context, moment, format='%Y-%m-%d %H:%M'):
    """Write a stored moment (naive UTC, as Tryton keeps them) on the
    service centre's clock; the page's ``zone`` is the centre's zone."""
    if moment is None:
        return ''
    return to_local(moment, context['zone']).strftime(format)


def weekday(date):
    "Return the day of the week as the pages write it: 周四"
    return gettext('meter_wechat.msg_weekday_%d' % date.weekday())


def day(date):
    "Return the day as the pages write it: 11月26日 周四"
    return gettext('meter_wechat.msg_day',
        month=date.month, day=date.day, weekday=weekday(date))


@pass_context
def _local_day(context, moment):
    "The day of a stored (UTC) moment on the centre's clock: 11月26日 周四"
    return day(to_local(moment, context['zone']))


@pass_context
def _local_weekday(context, moment):
    return weekday(to_local(moment, context['zone']))


def quantity(value, decimals=0):
    """Write a reading or a usage with the meter's decimals, and with more
    only when the value has them (a meter's own reply may be finer than
    its register; nothing is rounded away): 3934 for 3934.000, 12.5,
    123.45 on a meter of no decimals; '—' for none"""
    if value is None:
        return '—'
    value = Decimal(value)
    places = max(decimals or 0, -value.normalize().as_tuple().exponent)
    return str(value.quantize(Decimal(1).scaleb(-places)))


def _order_type(order):
    from .work_order import type_label
    return type_label(order)


templates.filters.update(
    local=_local, day=_local_day, weekday=_local_weekday,
    anomaly=anomaly, order_type=_order_type, quantity=quantity)
templates.globals.update(
    JWEIXIN=JWEIXIN, label=label, selection=selection, gettext=gettext)
