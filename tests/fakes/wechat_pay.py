"""A fake of WeChat Pay's API v2 (api.mch.weixin.qq.com) for the tests.

It checks the merchant's MD5 signatures with the API key, signs its
answers and its payment notifications with it, and speaks the documented
XML of pay/unifiedorder, pay/orderquery and pay/closeorder (err_code
ORDERNOTEXIST, ORDERPAID, ORDERCLOSED) and pay/downloadbill (the day's
bill of the orders paid that day, or No Bill Exist).  ``pay`` is what
the resident's chooseWXPay does once paid: the notification goes to
notify_url.
"""
import datetime as dt
import itertools
import threading
import time
import uuid
from decimal import Decimal

import requests
import xmltodict
from werkzeug.wrappers import Request, Response
from wechatpy.pay.utils import calculate_signature, dict_to_xml

from tests.fakes import LoopbackServer

__all__ = ['FakeWeChatPay', 'write_bill']

# The columns of the bill of all orders (bill_type ALL), and of its summary
BILL_HEADER = ('交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,'
    '商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,'
    '代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,'
    '退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注')
BILL_SUMMARY_HEADER = ('总交易单数,应结订单总金额,退款总金额,充值券退款总金额,'
    '手续费总金额,订单总金额,申请退款总金额')


def write_bill(rows):
    """Return the bill (bytes) of rows as downloadbill writes it: the
    header, a row a transaction (dicts of the header's columns, missing
    ones empty) each field after a backquote, the summary's header and
    line"""
    names = BILL_HEADER.split(',')
    lines = [BILL_HEADER]
    for row in rows:
        lines.append(','.join('`%s' % row.get(n, '') for n in names))
    paid = sum((Decimal(r.get('应结订单金额') or 0) for r in rows
            if r.get('交易状态') == 'SUCCESS'), Decimal('0.00'))
    refunded = sum((Decimal(r.get('退款金额') or 0) for r in rows
            if r.get('交易状态') == 'REFUND'), Decimal('0.00'))
    lines.append(BILL_SUMMARY_HEADER)
    lines.append('`%d,`%s,`%s,`0.00,`0.00,`%s,`%s' % (len(rows), paid,
            refunded, paid, refunded))
    return ('\r\n'.join(lines) + '\r\n').encode('utf-8')


class FakeWeChatPay(LoopbackServer):
    "The fake API with its orders (out_trade_no → dict)"

    def __init__(self, appid='wxpay0123456789ab', mch_id='1900000109',
            api_key='0123456789abcdef0123456789abcdef'):
        super().__init__()
        self.appid, self.mch_id, self.api_key = appid, mch_id, api_key
        self.orders = {}
        # Rows of the bills the merchant does not know (dicts of columns)
        self.extra_bill_rows = []
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
        elif path == 'pay/downloadbill':
            response = self.download_bill(data)
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

    def bill_row(self, order):
        "The row of the bill of a paid order"
        paid_at = dt.datetime.strptime(order['time_end'], '%Y%m%d%H%M%S')
        amount = '%d.%02d' % divmod(int(order['total_fee']), 100)
        return {
            '交易时间': paid_at.strftime('%Y-%m-%d %H:%M:%S'),
            '公众账号ID': self.appid, '商户号': self.mch_id,
            '特约商户号': '0', '微信订单号': order['transaction_id'],
            '商户订单号': order['out_trade_no'],
            '用户标识': order['openid'], '交易类型': 'JSAPI',
            '交易状态': 'SUCCESS', '付款银行': 'CMC', '货币种类': 'CNY',
            '应结订单金额': amount, '代金券金额': '0.00',
            '微信退款单号': '0', '商户退款单号': '0', '退款金额': '0.00',
            '充值券退款金额': '0.00', '商品名称': order.get('body', ''),
            '手续费': '0.00', '费率': '0.60%', '订单金额': amount,
            '申请退款金额': '0.00',
            }

    def download_bill(self, data):
        """The bill of the day (bill_date YYYYMMDD, Beijing time): the
        orders paid that day and the extra rows, or No Bill Exist"""
        bill_date = data.get('bill_date', '')
        if data.get('appid') != self.appid or data.get('bill_type') not in {
                'ALL', 'SUCCESS', 'REFUND'} or len(bill_date) != 8:
            return Response('<xml><return_code><![CDATA[FAIL]]>'
                '</return_code><return_msg><![CDATA[invalid bill_date or '
                'bill_type]]></return_msg></xml>', content_type='text/xml')
        rows = [self.bill_row(o) for o in self.orders.values()
            if o['state'] == 'SUCCESS'
            and o['time_end'].startswith(bill_date)]
        rows.extend(r for r in self.extra_bill_rows
            if r['交易时间'].replace('-', '').startswith(bill_date))
        if not rows:
            # Not signed, with an error_code of its own
            return Response('<xml><return_code><![CDATA[FAIL]]>'
                '</return_code><return_msg><![CDATA[No Bill Exist]]>'
                '</return_msg><error_code><![CDATA[20002]]></error_code>'
                '</xml>', content_type='text/xml')
        return Response(write_bill(rows),
            content_type='text/plain; charset=utf-8')

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
            'time_end': order.get('time_end')
            or time.strftime('%Y%m%d%H%M%S'),
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
            # WeChat Pay's clock is Beijing time
            order['time_end'] = dt.datetime.now(dt.timezone(
                    dt.timedelta(hours=8))).strftime('%Y%m%d%H%M%S')
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
