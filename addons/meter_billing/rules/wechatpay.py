"""WeChat Pay (微信支付) API v2, JSAPI payment inside the official account,
through wechatpy's pay client; no Tryton import.

The same interface as UnionPayClient: the order is placed (unified order)
and the page calls chooseWXPay with the parameters returned; the signed
notification and the order query give the Result; an unpaid order is
closed.  Signatures are wechatpy's (MD5 with the API key); the answers
of the API are checked too, not only the notifications.  The statement
of a day is the bill of downloadbill (对账单), parsed by parse_bill.
"""
import time
from decimal import Decimal, InvalidOperation

import requests
from wechatpy.exceptions import InvalidSignatureException, WeChatPayException
from wechatpy.pay import WeChatPay

from .unionpay import GatewayError, Result, StatementLine, from_fen, to_fen

__all__ = ['WeChatPayClient', 'SUCCESS_ANSWER', 'FAIL_ANSWER', 'parse_bill',
    'NO_BILL']

SUCCESS_ANSWER = ('<xml><return_code><![CDATA[SUCCESS]]></return_code>'
    '<return_msg><![CDATA[OK]]></return_msg></xml>')
FAIL_ANSWER = ('<xml><return_code><![CDATA[FAIL]]></return_code>'
    '<return_msg><![CDATA[refused]]></return_msg></xml>')
PENDING_STATES = {'NOTPAY', 'USERPAYING'}
# What downloadbill answers for a day without any transaction
NO_BILL = 'No Bill Exist'
# The columns of a bill that are read, by the names of its header (the
# bill's format: WeChat Pay writes its headers in Chinese)
TIME = '交易时间'
TRANSACTION = '微信订单号'
ORDER = '商户订单号'
STATE = '交易状态'
SETTLED = '应结订单金额'
TOTAL = '总金额'
REFUND_AMOUNT = '退款金额'
SUMMARY = '总交易单数'
# The first column of a bill's header
BILL_FIRST_COLUMN = TIME


def _bill_error(number, message):
    return GatewayError('statement', "line %d: %s" % (number, message),
        line=number)


def _yuan(text, number):
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise _bill_error(number, "amount %r" % text)
    if not amount.is_finite() or amount != amount.quantize(Decimal('0.01')):
        raise _bill_error(number, "amount %r" % text)
    return amount.quantize(Decimal('0.01'))


def parse_bill(data):
    """Return the StatementLines of a bill of downloadbill (bytes): the
    paid orders (交易状态 SUCCESS) and the refunds (REFUND), read by the
    names of the header's columns; the rows' fields start with a
    backquote; the summary's count of orders must be the rows'.  Raise
    GatewayError naming the line that is not in the format."""
    try:
        text = data.decode('utf-8-sig')
    except UnicodeDecodeError as exception:
        raise _bill_error(1, str(exception))
    lines = text.splitlines()
    if not lines or ORDER not in lines[0]:
        raise _bill_error(1, "no header")
    header = [c.strip() for c in lines[0].split(',')]
    amount_name = SETTLED if SETTLED in header else TOTAL
    try:
        columns = {name: header.index(name) for name in [
                TIME, TRANSACTION, ORDER, STATE,
                amount_name, REFUND_AMOUNT]}
    except ValueError as exception:
        raise _bill_error(1, str(exception))
    result, summary = [], None
    for number, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        if line.startswith(SUMMARY):
            summary = number
            break
        fields = line.split(',')
        if len(fields) < len(header) or not all(
                f.startswith('`') for f in fields[:len(header)]):
            raise _bill_error(number, "not a row of %d fields" % len(header))
        row = {n: fields[i][1:].strip() for n, i in columns.items()}
        state = row[STATE]
        if state == 'SUCCESS':
            kind, amount = 'payment', row[amount_name]
        elif state == 'REFUND':
            kind, amount = 'refund', row[REFUND_AMOUNT]
        else:
            # Revoked and other orders took no money
            continue
        if not row[ORDER]:
            raise _bill_error(number, "no %s" % ORDER)
        result.append(StatementLine(row[ORDER], row[TRANSACTION],
                _yuan(amount, number), row[TIME], kind))
    else:
        raise _bill_error(len(lines), "no summary")
    totals = lines[summary:summary + 1]
    # The rows are the lines between the header and the summary's
    count = sum(1 for line in lines[1:summary - 1] if line.strip())
    if not totals or not totals[0].startswith('`'):
        raise _bill_error(summary + 1, "no summary line")
    total = totals[0].split(',')[0][1:].strip()
    if not total.isdigit() or int(total) != count:
        raise _bill_error(summary + 1, "%s orders, not %d" % (total, count))
    return result


class WeChatPayClient:
    "The merchant's client of WeChat Pay at base_url (ending with /)"

    def __init__(self, appid, api_key, mch_id, base_url, timeout=10):
        self.pay = WeChatPay(appid, api_key, mch_id, timeout=timeout)
        # The gateway of the configuration (a local fake in the tests)
        self.pay.API_BASE_URL = (
            base_url if base_url.endswith('/') else base_url + '/')
        self.appid = appid
        self.mch_id = mch_id

    def _call(self, function, *args, **kwargs):
        try:
            answer = function(*args, **kwargs)
        except requests.Timeout as exception:
            raise GatewayError('timeout', str(exception))
        except requests.RequestException as exception:
            raise GatewayError('network', str(exception))
        except WeChatPayException as exception:
            if exception.errcode == 'ORDERNOTEXIST':
                return None
            raise GatewayError('answer', str(exception))
        if not isinstance(answer, dict) or not self.pay.check_signature(
                answer):
            raise GatewayError('signature', "answer not signed")
        return answer

    def jsapi(self, order_id, amount, body, notify_url, openid, client_ip,
            time_start, time_expire):
        """Place the order; return the parameters of chooseWXPay (JS-SDK:
        timestamp, nonceStr, package, signType, paySign)"""
        answer = self._call(self.pay.order.create, 'JSAPI', body,
            int(to_fen(amount)), notify_url, client_ip=client_ip,
            user_id=openid, out_trade_no=order_id, time_start=time_start,
            time_expire=time_expire)
        if not answer or not answer.get('prepay_id'):
            raise GatewayError('answer', "no prepay_id")
        return self.pay.jsapi.get_jsapi_params(
            answer['prepay_id'], timestamp=str(int(time.time())),
            jssdk=True)

    def _result(self, data, state):
        fee = data.get('total_fee')
        amount = from_fen(str(fee)) if fee not in (None, '') else None
        return Result(data.get('out_trade_no', ''), state, amount,
            data.get('transaction_id'), data.get('trade_state')
            or data.get('result_code', ''), data.get('err_code_des', ''))

    def notification(self, body):
        """Return the Result of a payment notification (the XML body)
        after verifying it; raise GatewayError when refused"""
        try:
            data = self.pay.parse_payment_result(body)
        except (InvalidSignatureException, ValueError, KeyError):
            raise GatewayError('signature', "bad signature")
        if data.get('mch_id') != self.mch_id or (
                data.get('appid') != self.appid):
            raise GatewayError('fields', "another merchant's notification")
        if not data.get('out_trade_no') or 'total_fee' not in data:
            raise GatewayError('fields', "no out_trade_no or total_fee")
        paid = (data.get('return_code') == 'SUCCESS'
            and data.get('result_code') == 'SUCCESS')
        return self._result(data, 'paid' if paid else 'failed')

    def query(self, order_id, txn_time=None):
        "Return the Result of the order query of order_id"
        data = self._call(self.pay.order.query, out_trade_no=order_id)
        if data is None:
            return Result(order_id, 'unknown', None, None, 'ORDERNOTEXIST',
                '')
        if data.get('out_trade_no') != order_id:
            raise GatewayError('fields', "answer of another order")
        trade_state = data.get('trade_state', '')
        if trade_state == 'SUCCESS':
            state = 'paid'
        elif trade_state in PENDING_STATES:
            state = 'pending'
        else:
            state = 'failed'
        return self._result(data, state)

    def close(self, order_id):
        "Close the unpaid order at WeChat Pay"
        self._call(self.pay.order.close, order_id)

    def statement(self, settle_date):
        """Return (file name, bill) of the bill of all orders of the day (a
        date) from downloadbill, or (None, None) when WeChat Pay has none
        (No Bill Exist: no transaction that day)"""
        try:
            answer = self.pay.tools.download_bill(settle_date, 'ALL')
        except requests.Timeout as exception:
            raise GatewayError('timeout', str(exception))
        except requests.RequestException as exception:
            raise GatewayError('network', str(exception))
        except WeChatPayException as exception:
            if exception.return_msg == NO_BILL:
                return None, None
            raise GatewayError('answer', str(exception))
        if isinstance(answer, dict) or not answer.lstrip(
                '\ufeff').startswith(BILL_FIRST_COLUMN):
            # An XML answer that is no error, or no bill at all
            raise GatewayError('answer', "not a bill")
        return ('wechatpay-%s-%s.csv' % (self.mch_id,
                settle_date.strftime('%Y%m%d')), answer.encode('utf-8'))
