"""A fake of WeChat Pay's API v2 (api.mch.weixin.qq.com) for the tests.

It checks the merchant's MD5 signatures with the API key, signs its
answers and its payment notifications with it, and speaks the documented
XML of pay/unifiedorder, pay/orderquery and pay/closeorder (err_code
ORDERNOTEXIST, ORDERPAID, ORDERCLOSED).  ``pay`` is what the resident's
chooseWXPay does once paid: the notification goes to notify_url.
"""
import itertools
import threading
import time
import uuid

import requests
import xmltodict
from werkzeug.wrappers import Request, Response
from wechatpy.pay.utils import calculate_signature, dict_to_xml

from tests.fakes import LoopbackServer

__all__ = ['FakeWeChatPay']


class FakeWeChatPay(LoopbackServer):
    "The fake API with its orders (out_trade_no → dict)"

    def __init__(self, appid='wxpay0123456789ab', mch_id='1900000109',
            api_key='0123456789abcdef0123456789abcdef'):
        super().__init__()
        self.appid, self.mch_id, self.api_key = appid, mch_id, api_key
        self.orders = {}
        self.notifications = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def signed_xml(self, data):
        data = {k: v for k, v in data.items() if v is not None}
        data.setdefault('nonce_str', uuid.uuid4().hex)
        return dict_to_xml(data, calculate_signature(data, self.api_key))

    def answer(self, **data):
        return Response(self.signed_xml(dict(return_code='SUCCESS',
                    return_msg='OK', appid=self.appid, mch_id=self.mch_id,
                    **data)), content_type='text/xml')

    def error(self, code, message):
        return self.answer(result_code='FAIL', err_code=code,
            err_code_des=message)

    def wsgi_app(self, environ, start_response):
        request = Request(environ)
        path = request.path.lstrip('/')
        try:
            data = dict(xmltodict.parse(request.get_data())['xml'])
        except Exception:
            data = {}
        self.record(path=path, data=data)
        sign = data.pop('sign', None)
        if sign != calculate_signature(data, self.api_key) or (
                data.get('mch_id') != self.mch_id):
            response = Response(self.signed_xml({'return_code': 'FAIL',
                        'return_msg': 'SIGNERROR'}), content_type='text/xml')
        elif path == 'pay/unifiedorder':
            response = self.unified_order(data)
        elif path == 'pay/orderquery':
            response = self.order_query(data)
        elif path == 'pay/closeorder':
            response = self.close_order(data)
        else:
            response = Response('not found', 404)
        return response(environ, start_response)

    def unified_order(self, data):
        missing = [n for n in ['body', 'out_trade_no', 'total_fee',
                'spbill_create_ip', 'notify_url', 'trade_type', 'openid']
            if not data.get(n)]
        if missing or data.get('appid') != self.appid:
            return self.error('PARAM_ERROR', 'missing %s' % missing)
        with self._lock:
            order = self.orders.get(data['out_trade_no'])
            if order and order['state'] == 'SUCCESS':
                return self.error('ORDERPAID', 'order paid')
            order = self.orders[data['out_trade_no']] = dict(data,
                state='NOTPAY', prepay_id='wx%d' % next(self._ids))
        return self.answer(result_code='SUCCESS', trade_type='JSAPI',
            prepay_id=order['prepay_id'])

    def order_query(self, data):
        order = self.orders.get(data.get('out_trade_no'))
        if order is None:
            return self.error('ORDERNOTEXIST', 'order does not exist')
        return self.answer(result_code='SUCCESS',
            out_trade_no=order['out_trade_no'], trade_state=order['state'],
            total_fee=order['total_fee'],
            transaction_id=order.get('transaction_id'))

    def close_order(self, data):
        order = self.orders.get(data.get('out_trade_no'))
        if order is None:
            return self.error('ORDERNOTEXIST', 'order does not exist')
        if order['state'] == 'SUCCESS':
            return self.error('ORDERPAID', 'order paid')
        order['state'] = 'CLOSED'
        return self.answer(result_code='SUCCESS')

    def notification(self, out_trade_no, **overrides):
        "Return the signed XML of the payment notification of an order"
        order = self.orders[out_trade_no]
        data = {
            'return_code': 'SUCCESS', 'result_code': 'SUCCESS',
            'appid': self.appid, 'mch_id': self.mch_id,
            'openid': order['openid'], 'trade_type': 'JSAPI',
            'bank_type': 'CMC', 'total_fee': order['total_fee'],
            'cash_fee': order['total_fee'], 'fee_type': 'CNY',
            'out_trade_no': out_trade_no,
            'transaction_id': order.get('transaction_id'),
            'time_end': time.strftime('%Y%m%d%H%M%S'),
            }
        xml = self.signed_xml(data)
        for key, value in overrides.items():
            # Changed after signing: a tampered notification
            xml = xml.replace('<%s>%s</%s>' % (key, data[key], key),
                '<%s>%s</%s>' % (key, value, key))
        return xml

    def pay(self, out_trade_no, notify=True):
        "Pay the order as chooseWXPay does; return the notification"
        order = self.orders[out_trade_no]
        if order['state'] != 'SUCCESS':
            order['state'] = 'SUCCESS'
            order['transaction_id'] = '42000%012d' % next(self._ids)
        xml = self.notification(out_trade_no)
        if notify:
            self.send(order['notify_url'], xml)
        return xml

    def send(self, url, xml):
        try:
            response = requests.post(url, data=xml.encode('utf-8'),
                headers={'Content-Type': 'text/xml'}, timeout=10)
            answer = (response.status_code, response.text)
        except requests.RequestException:
            answer = (None, '')
        self.notifications.append((url, xml, answer))
        return answer
