"""Work without signal: the service worker (sw.js) and the page it keeps
on the phone (offline), which works a round from what the phone keeps in
IndexedDB and queues what is done for sync/<kind> (sync.py).

Service workers need a secure context: HTTPS in production, or the
loopback (localhost, 127.0.0.1) for the demo.  The worker is served
from the pages' folder, so its scope is the pages (/<database>/field/);
its cache is named by a hash of the files it keeps, so that a new
version of any of them replaces the whole cache."""
import hashlib
import os

from trytond.modules.meter_wechat.labels import selection
from trytond.modules.meter_wechat.web import page, render
from trytond.protocols.wrappers import Response
from trytond.wsgi import app

from ..round import MAX_SKIP_NOTE
from .common import PREFIX, FieldStaff
from .rounds import _skip_reasons

HERE = os.path.dirname(os.path.dirname(__file__))
STATIC = os.path.join(HERE, 'static')
# What the worker's version is a hash of: every file of the offline page
VERSIONED = [
    os.path.join(STATIC, 'sw.js'),
    os.path.join(STATIC, 'offline.js'),
    os.path.join(STATIC, 'field.js'),
    os.path.join(STATIC, 'bluetooth.js'),
    os.path.join(HERE, 'templates', 'field', 'offline.html'),
    os.path.join(HERE, 'templates', 'field', 'bluetooth_reader.html'),
    os.path.join(HERE, 'templates', 'field', 'base.html'),
    ]
_worker = None


def worker():
    "Return the worker's script with its version: a hash of its files"
    global _worker
    if _worker is None:
        digest = hashlib.sha256()
        for path in VERSIONED:
            with open(path, 'rb') as fp:
                digest.update(fp.read())
        with open(VERSIONED[0], encoding='utf-8') as fp:
            _worker = fp.read().replace(
                '__VERSION__', digest.hexdigest()[:16])
    return _worker


@app.route(PREFIX + '/sw.js', methods=['GET'])
def service_worker(request, database_name):
    """The service worker, whose scope is the pages; checked for a new
    version at each visit (no-cache)"""
    return Response(worker(), content_type='text/javascript; charset=utf-8',
        headers={
            'Cache-Control': 'no-cache',
            'Service-Worker-Allowed': '/%s/field/' % database_name,
            })


@page('offline', visitor=FieldStaff)
def offline(request, pool, visitor, values):
    """The page the worker keeps: without signal it stands for every page
    and shows the round, the meter, 蓝牙抄表, the skip or the fault form
    of its address from IndexedDB"""
    return render(request, 'field/offline.html',
        anomalies=dict(selection('meter.reading', 'anomalies')),
        reasons=_skip_reasons(pool), max_note=MAX_SKIP_NOTE,
        kinds=dict(selection('meter.meter', 'kind')), **values)
