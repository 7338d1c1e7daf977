"""WeChat Pay (微信支付) API v2, JSAPI payment inside the official account,
through wechatpy's pay client; no Tryton import.

The same interface as UnionPayClient: the order is placed (unified order)
and the page calls chooseWXPay with the parameters returned; the signed
notification and the order query give the Result; an unpaid order is
closed.  Signatures are wechatpy's (MD5 with the API key); the answers
of the API are checked too, not only the notifications.
"""
import time

import requests
from wechatpy.exceptions import InvalidSignatureException, WeChatPayException
from wechatpy.pay import WeChatPay

from .unionpay import GatewayError, Result, from_fen, to_fen

__all__ = ['WeChatPayClient', 'SUCCESS_ANSWER', 'FAIL_ANSWER']

SUCCESS_ANSWER = ('<xml><return_code><![CDATA[SUCCESS]]></return_code>'
    '<return_msg><![CDATA[OK]]></return_msg></xml>')
FAIL_ANSWER = ('<xml><return_code><![CDATA[FAIL]]></return_code>'
    '<return_msg><![CDATA[refused]]></return_msg></xml>')
PENDING_STATES = {'NOTPAY', 'USERPAYING'}


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
        raise GatewayError('statement', "no statement of WeChat Pay yet")
