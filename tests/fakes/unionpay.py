"""A fake of UnionPay's online payment gateway (全渠道 5.1.0), for the tests
and the demo.

It checks the merchant's signatures with the merchant's certificate, signs
its own answers and notifications with a signing certificate issued by its
authority (as UnionPay's root issues its signing certificates) and speaks
the documented fields:

- POST gateway/api/frontTransReq.do: the consumption form the browser
  posts; answers the cashier page, whose 确认支付 pays (``pay``): the
  back-end notification goes to backUrl and the browser back to frontUrl;
- POST gateway/api/queryTrans.do: the state of an order (respCode 00 with
  origRespCode 00 paid, 05 in progress; 34 unknown order);
- POST / (the file download host's root): the file transfer request
  (txnType 76, fileType 00) answers the statement archive of the paid
  orders, a zip of the ZM file in its fixed widths, deflated and in base
  64 (fileContent) with its fileName.

``make_pki()`` makes the keys and certificates of a test; run as a
program (``python -m tests.fakes.unionpay --dir DIR --port N``) it keeps
them in DIR, where the demo's configuration reads them.
"""
import argparse
import datetime as dt
import html
import itertools
import json
import os
import threading
import time

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from werkzeug.wrappers import Request, Response

from tests.fakes import LoopbackServer


def _load_protocol():
    "The merchant's side of the protocol, from the checkout (no trytond)"
    import importlib.util
    path = os.path.join(os.path.dirname(__file__), '..', '..', 'addons',
        'meter_billing', 'rules', 'unionpay.py')
    spec = importlib.util.spec_from_file_location('_unionpay', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


unionpay = _load_protocol()

__all__ = ['FakeUnionPay', 'make_pki']

MERCHANT = '777290058110048'
BEIJING = dt.timezone(dt.timedelta(hours=8))


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode('ascii')


def _cert(subject_key, common_name, issuer_key=None, issuer_name=None,
        days=365):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name or name)
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .sign(issuer_key or subject_key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode('ascii')


def make_pki():
    """Return the PEM keys and certificates of a test: the gateway's
    authority, its signing certificate, and the merchant's"""
    authority_key, gateway_key, merchant_key = _key(), _key(), _key()
    authority = _cert(authority_key, 'CFCA TEST OCA1')
    issuer = x509.load_pem_x509_certificate(authority.encode()).subject
    return {
        'authority_key': _pem_key(authority_key),
        'authority_cert': authority,
        'gateway_key': _pem_key(gateway_key),
        'gateway_cert': _cert(gateway_key, 'UnionPay Test Signing',
            authority_key, issuer),
        'merchant_key': _pem_key(merchant_key),
        'merchant_cert': _cert(merchant_key, 'Merchant ' + MERCHANT),
        }


class FakeUnionPay(LoopbackServer):
    """The fake gateway with its orders (orderId → dict).

    hold_notifications keeps the notifications of the orders paid (to
    send them later with ``notify``); query_delay makes the queries wait
    that many seconds (a gateway that does not answer in time)."""

    def __init__(self, pki=None, mer_id=MERCHANT):
        super().__init__()
        self.pki = pki or make_pki()
        self.mer_id = mer_id
        self.orders = {}
        self.notifications = []
        self.hold_notifications = False
        self.query_delay = 0
        # Transactions of the statement the merchant does not know
        self.extra_statement_lines = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    # signing

    def sign(self, fields):
        fields = dict(fields, signPubKeyCert=self.pki['gateway_cert'])
        fields['signature'] = unionpay.sign(fields, self.pki['gateway_key'])
        return fields

    def check(self, form):
        "Check a merchant's request; return the error or None"
        if form.get('merId') != self.mer_id:
            return '6100030', "merId error"
        if form.get('certId') != unionpay.cert_id(self.pki['merchant_cert']):
            return '6100030', "certId error"
        try:
            unionpay.verify_with(form, self.pki['merchant_cert'])
        except unionpay.UnionPayError:
            return '11', "signature verification failed"
        return None

    # what the cashier does

    def pay(self, order_id, notify=None):
        """Pay the order as the resident's 确认支付 does; send its
        notification unless held; return the signed fields of the
        notification"""
        with self._lock:
            order = self.orders[order_id]
            if order['state'] != 'paid':
                order['state'] = 'paid'
                order['queryId'] = '%s%06d' % (
                    time.strftime('%Y%m%d%H%M%S'), next(self._ids))
                # Settled on the day of Beijing it was paid
                order['settleDate'] = dt.datetime.now(BEIJING).strftime(
                    '%m%d')
        fields = self.notification(order_id)
        if notify if notify is not None else not self.hold_notifications:
            self.send(order['backUrl'], fields)
        return fields

    def notification(self, order_id, **overrides):
        "Return the signed back-end notification of a paid order"
        order = self.orders[order_id]
        fields = {
            'version': unionpay.VERSION, 'encoding': 'UTF-8',
            'signMethod': '01', 'txnType': '01', 'txnSubType': '01',
            'bizType': '000201', 'accessType': '0', 'merId': self.mer_id,
            'orderId': order_id, 'txnTime': order['txnTime'],
            'txnAmt': order['txnAmt'], 'currencyCode': '156',
            'queryId': order.get('queryId', ''), 'respCode': '00',
            'respMsg': 'success', 'settleDate': order.get(
                'settleDate', dt.datetime.now(BEIJING).strftime('%m%d')),
            'traceNo': '%06d' % (len(self.notifications) + 1),
            }
        fields.update(overrides)
        return self.sign(fields)

    def send(self, url, fields):
        "Post a notification as the gateway does; return the HTTP status"
        try:
            status = requests.post(url, data=fields, timeout=10).status_code
        except requests.RequestException:
            status = None
        self.notifications.append((url, fields, status))
        return status

    def notify(self, order_id, **overrides):
        order = self.orders[order_id]
        return self.send(
            order['backUrl'], self.notification(order_id, **overrides))

    # the HTTP side

    def wsgi_app(self, environ, start_response):
        request = Request(environ)
        path = request.path.lstrip('/')
        form = request.form.to_dict()
        self.record(path=path, form=form)
        if path == unionpay.FRONT_PATH:
            response = self.front(form)
        elif path == unionpay.QUERY_PATH:
            response = self.query(form)
        elif path == unionpay.FILE_PATH:
            response = self.file_transfer(form)
        elif path == 'cashier/pay':
            response = self.cashier_pay(form)
        else:
            response = Response('not found', 404)
        return response(environ, start_response)

    def front(self, form):
        error = self.check(form)
        missing = [n for n in ['orderId', 'txnTime', 'txnAmt', 'frontUrl',
                'backUrl', 'payTimeout'] if not form.get(n)]
        if error or missing:
            code, message = error or ('10', 'missing %s' % missing)
            return Response('<html><body><p class="error">%s %s</p>'
                '</body></html>' % (code, html.escape(message)), 400,
                content_type='text/html; charset=utf-8')
        with self._lock:
            order = self.orders.setdefault(form['orderId'], dict(
                    form, state='pending'))
        amount = unionpay.from_fen(order['txnAmt'])
        return Response(CASHIER % {
                'order': html.escape(form['orderId']),
                'amount': amount,
                }, content_type='text/html; charset=utf-8')

    def cashier_pay(self, form):
        order = self.orders.get(form.get('orderId'))
        if order is None:
            return Response('unknown order', 404)
        timeout = dt.datetime.strptime(order['payTimeout'], '%Y%m%d%H%M%S')
        now = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).replace(
            tzinfo=None)
        if now > timeout:
            return Response('<html><body><p class="error">订单已超时</p>'
                '</body></html>', 400, content_type='text/html; charset=utf-8')
        fields = self.pay(order['orderId'])
        inputs = ''.join('<input type="hidden" name="%s" value="%s">' % (
                html.escape(k), html.escape(v)) for k, v in fields.items())
        return Response(RETURN % {
                'action': html.escape(order['frontUrl']), 'inputs': inputs},
            content_type='text/html; charset=utf-8')

    def file_transfer(self, form):
        "The statement archive of the paid orders (one day in the tests)"
        import base64
        import zlib
        if self.query_delay:
            time.sleep(self.query_delay)
        error = self.check(form)
        settle_date = form.get('settleDate', '')
        try:
            day = dt.datetime.strptime(
                '%d%s' % (dt.date.today().year, settle_date),
                '%Y%m%d').date()
        except ValueError:
            day = None
        if not error and (form.get('txnType') != '76'
                or form.get('fileType') != '00' or day is None):
            error = '10', "txnType, fileType or settleDate error"
        if error:
            return Response(unionpay.encode_response(self.sign({
                        'respCode': error[0], 'respMsg': error[1]})))
        lines = [unionpay.StatementLine(o['orderId'], o['queryId'],
                unionpay.from_fen(o['txnAmt']), o['txnTime'])
            for o in self.orders.values()
            if o['state'] == 'paid' and o.get('settleDate') == settle_date]
        lines.extend(self.extra_statement_lines)
        if not lines:
            # A settlement day without transaction has no file
            return Response(unionpay.encode_response(self.sign({
                        'version': unionpay.VERSION, 'encoding': 'UTF-8',
                        'signMethod': '01', 'txnType': '76',
                        'txnSubType': '01', 'bizType': '000000',
                        'accessType': '0', 'respCode': unionpay.NO_FILE,
                        'respMsg': '文件不存在', 'merId': self.mer_id,
                        'settleDate': settle_date, 'fileType': '00',
                        'txnTime': form.get('txnTime', '')})),
                content_type='text/plain; charset=utf-8')
        name, archive = unionpay.write_archive(lines, self.mer_id, day)
        content = base64.b64encode(zlib.compress(archive)).decode('ascii')
        return Response(unionpay.encode_response(self.sign({
                        'version': unionpay.VERSION, 'encoding': 'UTF-8',
                        'signMethod': '01', 'txnType': '76',
                        'txnSubType': '01', 'bizType': '000000',
                        'accessType': '0', 'respCode': '00',
                        'respMsg': 'success', 'merId': self.mer_id,
                        'settleDate': settle_date, 'fileType': '00',
                        'txnTime': form.get('txnTime', ''),
                        'fileName': name, 'fileContent': content})),
            content_type='text/plain; charset=utf-8')

    def query(self, form):
        if self.query_delay:
            time.sleep(self.query_delay)
        error = self.check(form)
        if error:
            return Response(unionpay.encode_response(self.sign({
                        'respCode': error[0], 'respMsg': error[1]})))
        order = self.orders.get(form.get('orderId'))
        common = {'version': unionpay.VERSION, 'encoding': 'UTF-8',
            'signMethod': '01', 'txnType': '00', 'txnSubType': '00',
            'bizType': '000000', 'accessType': '0', 'merId': self.mer_id,
            'orderId': form.get('orderId', ''),
            'txnTime': form.get('txnTime', '')}
        if order is None:
            answer = dict(common, respCode='34', respMsg='order not found')
        else:
            paid = order['state'] == 'paid'
            answer = dict(common, respCode='00', respMsg='success',
                origRespCode='00' if paid else '05',
                origRespMsg='success' if paid else 'in progress',
                txnAmt=order['txnAmt'], queryId=order.get('queryId', ''))
        return Response(unionpay.encode_response(self.sign(answer)),
            content_type='text/plain; charset=utf-8')


CASHIER = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>银联在线支付（测试网关）</title></head><body>
<h1>银联在线支付（测试网关）</h1>
<p>订单号 <span class="order">%(order)s</span></p>
<p>金额 <span class="amount">¥%(amount)s</span></p>
<form method="post" action="/cashier/pay">
<input type="hidden" name="orderId" value="%(order)s">
<button type="submit" id="pay">确认支付</button></form>
</body></html>"""

RETURN = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<title>支付成功</title></head><body onload="document.forms[0].submit()">
<p>支付成功，正在返回商户……</p>
<form method="post" action="%(action)s">%(inputs)s
<button type="submit">返回商户</button></form></body></html>"""


def main():
    "Serve the fake on 127.0.0.1 with the keys kept in --dir (the demo)"
    parser = argparse.ArgumentParser()
    parser.add_argument('--dir', required=True)
    parser.add_argument('--port', type=int, default=8010)
    parser.add_argument('--init', action='store_true',
        help="only make the keys and certificates if there are none")
    args = parser.parse_args()
    path = os.path.join(args.dir, 'pki.json')
    os.makedirs(args.dir, exist_ok=True)
    if os.path.exists(path):
        with open(path) as fp:
            pki = json.load(fp)
    else:
        pki = make_pki()
        with open(path, 'w') as fp:
            json.dump(pki, fp)
    if args.init:
        return
    from werkzeug.serving import run_simple
    fake = FakeUnionPay(pki)
    run_simple('127.0.0.1', args.port, fake, threaded=True)


if __name__ == '__main__':
    main()
