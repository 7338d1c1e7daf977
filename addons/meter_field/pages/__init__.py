"""The field staff's pages (业务中心) under /<database>/field/, on the web
layer of meter_wechat (web.py), one file per group of pages: the login
with the Tryton user and password or the bound WeChat OpenID (login.py),
today's work and the search of a meter (home.py), the meter's card and
its reading with a photo (meter.py), the usage query (usage.py), the
staff's own information (profile.py) and the faults they report
(faults.py).

A page runs as the staff member's Tryton user with the access and record
rules on (visitor Staff): a meter of another campus is not found.
"""
import os

from trytond.i18n import gettext
from trytond.modules.meter_wechat.templating import templates
from trytond.modules.meter_wechat.web import (
    CONTEXT, add_templates, error_page)
from trytond.protocols.wrappers import HTTPStatus, with_pool, with_transaction
from trytond.wsgi import app

add_templates(os.path.join(
        os.path.dirname(os.path.dirname(__file__)), 'templates'))

from .common import (  # noqa: E402
    PREFIX, FieldStaff, card_url, field_label, find_meter, plain)
from . import (  # noqa: E402,F401
    bluetooth, faults, home, login, meter, offline, profile, rounds,
    static, sync, usage)

templates.globals['field_label'] = field_label
templates.filters['plain'] = plain

__all__ = ['PREFIX', 'FieldStaff', 'card_url', 'find_meter']


@app.route(PREFIX + '/<path:path>',
    methods=['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'])
@with_pool
@with_transaction(context=CONTEXT)
def page_not_found(request, pool, path):
    "Any other address under the field pages: the pages' 404 in Chinese"
    return error_page(request, HTTPStatus.NOT_FOUND,
        gettext('meter_wechat.msg_page_not_found'))
