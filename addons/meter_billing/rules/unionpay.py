"""UnionPay online payment (银联全渠道 / 在线网关支付), version 5.1.0.

The merchant side of the protocol, with no Tryton import:

- the front-end consumption form (frontTransReq.do) the resident's
  browser posts to the gateway, signed with the merchant's key;
- the asynchronous back-end notification, verified with the gateway's
  signing certificate (signPubKeyCert), itself checked against the
  certificate of the gateway's authority the merchant was given;
- the query of a transaction's final state (queryTrans.do).

Signatures (signMethod 01): the fields but ``signature`` sorted by name,
written ``k=v&k=v``, hashed with SHA-256 to hexadecimal, and that text
signed with RSA PKCS#1 v1.5 and SHA-256, in base 64.

Amounts are Decimal yuan here and fen (分, a whole number) on the wire.
"""
import base64
import datetime as dt
import hashlib
from decimal import Decimal
from typing import NamedTuple, Optional

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

__all__ = ['GatewayError', 'UnionPayError', 'Result', 'UnionPayClient', 'sign', 'verify',
    'verify_with', 'StatementLine', 'parse_statement', 'write_statement',
    'to_fen', 'from_fen', 'parse_response', 'encode_response', 'cert_id']

VERSION = '5.1.0'
FRONT_PATH = 'gateway/api/frontTransReq.do'
QUERY_PATH = 'gateway/api/queryTrans.do'
FILE_PATH = 'gateway/api/fileTransfer.do'
# The answer of a query about a transaction still in progress
PENDING_CODES = {'03', '04', '05'}
# The answers of a query that say the gateway knows no such order
UNKNOWN_CODES = {'34'}


class GatewayError(Exception):
    """A refused message or a failed exchange with a payment gateway; code
    is one of signature, certificate, fields, amount, timeout, network,
    answer, statement"""

    def __init__(self, code, message=''):
        super().__init__(message or code)
        self.code = code


UnionPayError = GatewayError


class Result(NamedTuple):
    "What the gateway says of an order, from a notification or a query"
    order_id: str
    # paid, pending, failed or unknown
    state: str
    amount: Optional[Decimal]
    reference: Optional[str]
    code: str
    message: str


def to_fen(amount):
    "Return the whole number of fen of a Decimal amount of yuan, exactly"
    amount = Decimal(amount)
    fen = amount * 100
    if fen != fen.to_integral_value() or fen <= 0:
        raise UnionPayError('amount', "not a positive amount in fen: %s"
            % amount)
    return str(int(fen))


def from_fen(text):
    "Return the Decimal yuan of a number of fen written by the gateway"
    if not isinstance(text, str) or not text.isascii() or not text.isdigit():
        raise UnionPayError('amount', "not an amount in fen: %r" % text)
    return (Decimal(int(text)) / 100).quantize(Decimal('0.01'))


def _digest(fields):
    data = '&'.join('%s=%s' % (k, fields[k])
        for k in sorted(fields) if k != 'signature')
    return hashlib.sha256(data.encode('utf-8')).hexdigest().encode('ascii')


def _load_key(key_pem):
    if isinstance(key_pem, str):
        key_pem = key_pem.encode('ascii')
    return serialization.load_pem_private_key(key_pem, password=None)


def _load_cert(cert_pem):
    if isinstance(cert_pem, str):
        cert_pem = cert_pem.encode('ascii')
    try:
        return x509.load_pem_x509_certificate(cert_pem)
    except ValueError as exception:
        raise UnionPayError('certificate', str(exception))


def cert_id(cert_pem):
    "Return the certId of a certificate: its serial number in decimal"
    return str(_load_cert(cert_pem).serial_number)


def sign(fields, key_pem):
    "Return the signature of fields with the PEM private key"
    signature = _load_key(key_pem).sign(
        _digest(fields), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode('ascii')


def verify(fields, authority_pem, now=None):
    """Check the signature of fields with the certificate they carry
    (signPubKeyCert), which must be issued by the authority and valid now;
    raise UnionPayError otherwise"""
    signature = fields.get('signature')
    cert_pem = fields.get('signPubKeyCert')
    if not signature or not cert_pem:
        raise UnionPayError('signature', "no signature or certificate")
    cert = _load_cert(cert_pem)
    authority = _load_cert(authority_pem)
    now = now or dt.datetime.now(dt.timezone.utc)
    try:
        cert.verify_directly_issued_by(authority)
    except (ValueError, TypeError, InvalidSignature):
        raise UnionPayError('certificate', "not issued by the authority")
    if not (cert.not_valid_before_utc <= now <= cert.not_valid_after_utc):
        raise UnionPayError('certificate', "certificate out of validity")
    verify_with(fields, cert)


def verify_with(fields, cert):
    """Check the signature of fields with the certificate (PEM or loaded)
    of the signer; raise UnionPayError otherwise"""
    if not isinstance(cert, x509.Certificate):
        cert = _load_cert(cert)
    try:
        cert.public_key().verify(
            base64.b64decode(fields.get('signature') or '', validate=True),
            _digest(fields), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        raise UnionPayError('signature', "bad signature")


def parse_response(text):
    """Return the fields of a gateway's answer, k=v&k=v with values not
    encoded (a value in braces may hold & and =)"""
    fields, depth, start = {}, 0, 0
    text = text.strip()
    for i, char in enumerate(text + '&'):
        if char == '{':
            depth += 1
        elif char == '}':
            depth -= 1
        elif char == '&' and depth == 0:
            pair = text[start:i]
            start = i + 1
            if not pair:
                continue
            key, sep, value = pair.partition('=')
            if not sep:
                raise UnionPayError('answer', "malformed answer")
            fields[key] = value
    return fields


def encode_response(fields):
    "Write fields as the gateway writes its answers"
    return '&'.join('%s=%s' % (k, v) for k, v in fields.items())


class StatementLine(NamedTuple):
    "A transaction of the gateway's statement of a day"
    order_id: str
    reference: str
    amount: Decimal
    txn_time: str


def parse_statement(data):
    """Return the StatementLines of a statement file: lines of
    orderId,queryId,txnAmt,txnTime (amount in fen) after a header line
    starting with #"""
    lines = []
    for number, line in enumerate(data.decode('utf-8').splitlines(), 1):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        parts = line.split(',')
        if len(parts) != 4:
            raise UnionPayError('statement', "line %d: %r" % (number, line))
        order_id, reference, amount, txn_time = parts
        lines.append(StatementLine(order_id, reference, from_fen(amount),
                txn_time))
    return lines


def write_statement(lines):
    "Return the statement file of the StatementLines"
    text = '#orderId,queryId,txnAmt,txnTime\n' + ''.join(
        '%s,%s,%s,%s\n' % (l.order_id, l.reference, to_fen(l.amount),
            l.txn_time) for l in lines)
    return text.encode('utf-8')


class UnionPayClient:
    """The merchant's client of the gateway at base_url (ending with /).

    key_pem and cert_pem are the merchant's signing key and certificate;
    authority_pem the certificate that issues the gateway's signing
    certificates (the root given with the merchant's access)."""

    def __init__(self, mer_id, key_pem, cert_pem, authority_pem, base_url,
            timeout=10, session=None):
        self.mer_id = mer_id
        self.key_pem = key_pem
        self.cert_id = cert_id(cert_pem)
        self.authority_pem = authority_pem
        self.base_url = base_url if base_url.endswith('/') else base_url + '/'
        self.timeout = timeout
        self.session = session

    def _common(self):
        return {
            'version': VERSION,
            'encoding': 'UTF-8',
            'signMethod': '01',
            'merId': self.mer_id,
            'accessType': '0',
            'certId': self.cert_id,
            }

    def signed(self, fields):
        fields = dict(fields)
        fields['signature'] = sign(fields, self.key_pem)
        return fields

    def front_form(self, order_id, txn_time, amount, front_url, back_url,
            pay_timeout, channel='08'):
        """Return (action, fields) of the form the browser posts to pay
        amount for order_id; txn_time and pay_timeout are naive times of
        the gateway's clock (Beijing time)"""
        fields = dict(self._common(),
            txnType='01', txnSubType='01', bizType='000201',
            channelType=channel, currencyCode='156',
            orderId=order_id, txnTime=txn_time.strftime('%Y%m%d%H%M%S'),
            txnAmt=to_fen(amount), frontUrl=front_url, backUrl=back_url,
            payTimeout=pay_timeout.strftime('%Y%m%d%H%M%S'))
        return self.base_url + FRONT_PATH, self.signed(fields)

    def notification(self, fields):
        """Return the Result of a back-end notification (the posted form)
        after verifying it; raise UnionPayError when refused"""
        fields = {k: v for k, v in fields.items() if isinstance(v, str)}
        verify(fields, self.authority_pem)
        if fields.get('merId') != self.mer_id:
            raise UnionPayError('fields', "another merchant's notification")
        for name in ['orderId', 'respCode', 'txnAmt']:
            if not fields.get(name):
                raise UnionPayError('fields', "no %s" % name)
        paid = fields['respCode'] in {'00', 'A6'}
        return Result(fields['orderId'], 'paid' if paid else 'failed',
            from_fen(fields['txnAmt']), fields.get('queryId'),
            fields['respCode'], fields.get('respMsg', ''))

    def statement(self, settle_date):
        """Return the statement file (bytes) of the settlement day (a
        date) downloaded from the gateway (fileTransfer.do, fileType 00);
        its content comes deflated and in base 64"""
        import zlib
        answer = self._post(FILE_PATH, dict(self._common(),
                txnType='76', txnSubType='01', bizType='000000',
                channelType='07', fileType='00',
                settleDate=settle_date.strftime('%m%d'),
                txnTime=dt.datetime.now().strftime('%Y%m%d%H%M%S')))
        if answer.get('respCode') != '00':
            raise UnionPayError('answer', "no statement: %s %s" % (
                    answer.get('respCode'), answer.get('respMsg', '')))
        try:
            return zlib.decompress(base64.b64decode(answer['fileContent']))
        except (KeyError, ValueError, zlib.error) as exception:
            raise UnionPayError('statement', str(exception))

    def _post(self, path, fields):
        "Post the signed fields to path; return the verified answer"
        import requests
        session = self.session or requests
        try:
            response = session.post(self.base_url + path,
                data=self.signed(fields), timeout=self.timeout)
        except requests.Timeout as exception:
            raise UnionPayError('timeout', str(exception))
        except requests.RequestException as exception:
            raise UnionPayError('network', str(exception))
        if response.status_code != 200:
            raise UnionPayError('answer', "HTTP %s" % response.status_code)
        answer = parse_response(response.content.decode('utf-8'))
        verify(answer, self.authority_pem)
        return answer

    def query(self, order_id, txn_time):
        """Return the Result of the gateway's answer about order_id
        (created at txn_time); raise UnionPayError when there is none"""
        answer = self._post(QUERY_PATH, dict(self._common(),
                txnType='00', txnSubType='00', bizType='000000',
                channelType='07', orderId=order_id,
                txnTime=txn_time.strftime('%Y%m%d%H%M%S')))
        code = answer.get('respCode', '')
        if code in UNKNOWN_CODES:
            return Result(order_id, 'unknown', None, None, code,
                answer.get('respMsg', ''))
        if code != '00':
            raise UnionPayError('answer', "query refused: %s %s" % (
                    code, answer.get('respMsg', '')))
        if answer.get('orderId') != order_id:
            raise UnionPayError('fields', "answer of another order")
        original = answer.get('origRespCode', '')
        if original in {'00', 'A6'}:
            state = 'paid'
        elif original in PENDING_CODES:
            state = 'pending'
        else:
            state = 'failed'
        amount = answer.get('txnAmt')
        return Result(order_id, state,
            from_fen(amount) if amount else None, answer.get('queryId'),
            original, answer.get('origRespMsg', ''))
