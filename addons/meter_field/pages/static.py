"""The field pages' own scripts, and the barcode decoder npm installs
beside meter_wechat's assets (static/package.json there)"""
import os

from werkzeug.utils import send_from_directory

from trytond.modules.meter_wechat.routes import STATIC
from trytond.protocols.wrappers import HTTPStatus, Response
from trytond.wsgi import app

from .common import PREFIX

HERE = os.path.dirname(os.path.dirname(__file__))
NODE_MODULES = os.path.join(STATIC, 'node_modules')
ASSETS = {
    'field.js': (os.path.join(HERE, 'static'), 'field.js'),
    'offline.js': (os.path.join(HERE, 'static'), 'offline.js'),
    'zxing.js': (os.path.join(NODE_MODULES, '@zxing', 'library', 'umd'),
        'index.min.js'),
    }


@app.route(PREFIX + '/static/<name>', methods=['GET'])
def static(request, database_name, name):
    if name not in ASSETS:
        return Response('not found', HTTPStatus.NOT_FOUND)
    directory, path = ASSETS[name]
    response = send_from_directory(directory, path, request.environ)
    response.cache_control.max_age = 3600
    return response
