"""UnionPay online payment (银联全渠道 / 在线网关支付), version 5.1.0.

The merchant side of the protocol, with no Tryton import:

- the front-end consumption form (frontTransReq.do) the resident's
  browser posts to the gateway, signed with the merchant's key;
- the asynchronous back-end notification, verified with the gateway's
  signing certificate (signPubKeyCert), itself checked against the
  certificate of the gateway's authority the merchant was given;
- the query of a transaction's final state (queryTrans.do);
- the statement of a settlement day (file transfer, txnType 76): a zip
  whose general transaction file (ZM) has fields of fixed widths.

Signatures (signMethod 01): the fields but ``signature`` sorted by name,
written ``k=v&k=v``, hashed with SHA-256 to hexadecimal, and that text
signed with RSA PKCS#1 v1.5 and SHA-256, in base 64.

Amounts are Decimal yuan here and fen (分, a whole number) on the wire.
"""
import base64
import datetime as dt
import hashlib
import io
import os
import zipfile
import zlib
from decimal import Decimal
from typing import NamedTuple, Optional

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

__all__ = ['GatewayError', 'UnionPayError', 'Result', 'UnionPayClient', 'sign', 'verify',
    'verify_with', 'StatementLine', 'parse_statement', 'write_statement',
    'write_archive', 'statement_file',
    'to_fen', 'from_fen', 'parse_response', 'encode_response', 'cert_id']

VERSION = '5.1.0'
FRONT_PATH = 'gateway/api/frontTransReq.do'
QUERY_PATH = 'gateway/api/queryTrans.do'
# The statements are downloaded from a host of their own, at its root
# (https://filedownload.95516.com/)
FILE_PATH = ''
# The answer of a query about a transaction still in progress
PENDING_CODES = {'03', '04', '05'}
# The answers of a query that say the gateway knows no such order
UNKNOWN_CODES = {'34'}
# The answer of a file transfer request for a settlement day of which the
# gateway holds no file (文件不存在): a day without transaction
NO_FILE = '98'


class GatewayError(Exception):
    """A refused message or a failed exchange with a payment gateway; code
    is one of signature, certificate, fields, amount, timeout, network,
    answer, statement"""

    def __init__(self, code, message='', line=None):
        super().__init__(message or code)
        self.code = code
        # The line of a statement that is not in the gateway's format
        self.line = line


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


def _slash(url):
    return url if url.endswith('/') else url + '/'


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
    # payment, or refund (a refund or a cancellation of a payment)
    kind: str = 'payment'


# The general transaction file (一般交易明细, ZM) of the statement
# archive, as 《全渠道平台接入接口规范 第3部分 文件接口》 6.1 lays it out:
# one line a transaction, fields of fixed widths in bytes (GBK), each
# followed by one space; the last (reserved) field's width has changed
# between versions of the specification, so it is whatever remains.
ZM_FIELDS = [
    ('txn_code', 3),            # 交易代码: S22 consumption, S30 refund…
    ('acq_ins_code', 11),       # 代理机构标识码
    ('send_ins_code', 11),      # 发送机构标识码
    ('trace_no', 6),            # 系统跟踪号
    ('trans_time', 10),         # 交易传输时间 MMDDhhmmss
    ('pan', 19),                # 主账号
    ('amount', 12),             # 交易金额, fen
    ('mcc', 4),                 # 商户类别
    ('terminal_type', 2),       # 终端类型
    ('query_id', 21),           # 查询流水号
    ('old_pay_type', 2),        # 支付方式（旧）
    ('order_id', 32),           # 商户订单号
    ('card_type', 2),           # 支付卡类型
    ('orig_trace_no', 6),       # 原始交易的系统跟踪号
    ('orig_trans_time', 10),    # 原始交易日期时间
    ('fee', 13),                # 商户手续费
    ('settle_amount', 13),      # 结算金额
    ('pay_type', 4),            # 支付方式
    ('group_mer_id', 15),       # 集团商户代码
    ('txn_type', 2),            # 交易类型
    ('txn_sub_type', 2),        # 交易子类
    ('biz_type', 6),            # 业务类型
    ('acc_type', 2),            # 帐号类型
    ('bill_type', 4),           # 账单类型
    ('bill_no', 32),            # 账单号码
    ('interact_mode', 1),       # 交互方式
    ('orig_query_id', 21),      # 原交易查询流水号
    ('mer_id', 15),             # 商户代码
    ('split_mode', 1),          # 分账入账方式
    ('sub_mer_id', 15),         # 二级商户代码
    ('sub_mer_abbr', 32),       # 二级商户简称
    ('sub_mer_amount', 13),     # 二级商户分账入账金额
    ('net_amount', 13),         # 清算净额
    ('terminal_id', 8),         # 终端号
    ('mer_reserved', 32),       # 商户自定义域
    ('discount', 13),           # 优惠金额
    ('invoice_amount', 13),     # 发票金额
    ('instalment_fee', 12),     # 分期付款附加手续费
    ('instalments', 2),         # 分期付款期数
    ('medium', 1),              # 交易介质
    ('orig_order_id', 32),      # 原始交易订单号
    ('reserved', 98),           # 保留使用
    ]
ZM_ENCODING = 'gbk'
# A line holds every field but the reserved one at least
ZM_MIN_LENGTH = sum(w + 1 for _, w in ZM_FIELDS[:-1])
# The transaction codes of the payments, and of what takes money back
PAYMENT_CODES = {'S22'}
REFUND_CODES = {'S30', 'S31', 'S33'}


def _statement_error(number, message):
    return UnionPayError('statement', "line %d: %s" % (number, message),
        line=number)


def _zm_fields(line):
    "Return the fields of a line (bytes) of the ZM file by name"
    fields, start = {}, 0
    for name, width in ZM_FIELDS[:-1]:
        fields[name] = line[start:start + width].decode(
            ZM_ENCODING).strip()
        start += width + 1
    fields['reserved'] = line[start:].decode(ZM_ENCODING).strip()
    return fields


def statement_file(data):
    """Return the ZM file (bytes) of a statement: the archive the gateway
    gives (a zip of the day's files) or the ZM file itself"""
    if not data.startswith(b'PK'):
        return data
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = [n for n in archive.namelist()
                if 'ZM_' in os.path.basename(n)]
            if len(names) != 1:
                raise UnionPayError('statement',
                    "no general transaction file (ZM) in the archive")
            return archive.read(names[0])
    except (zipfile.BadZipFile, zlib.error, OSError) as exception:
        raise UnionPayError('statement', str(exception))


def parse_statement(data):
    """Return the StatementLines of the statement (the archive or its ZM
    file): the consumptions and what refunds or cancels them; raise
    UnionPayError naming the line that is not in the format"""
    lines = []
    for number, line in enumerate(statement_file(data).splitlines(), 1):
        if not line.strip():
            continue
        if len(line) < ZM_MIN_LENGTH:
            raise _statement_error(number, "%d bytes, not %d at least" % (
                    len(line), ZM_MIN_LENGTH))
        try:
            fields = _zm_fields(line)
        except UnicodeDecodeError as exception:
            raise _statement_error(number, str(exception))
        code = fields['txn_code']
        if code in PAYMENT_CODES:
            kind = 'payment'
        elif code in REFUND_CODES:
            kind = 'refund'
        else:
            # Other transactions (pre-authorisations…) the centre never
            # makes; they do not pay a bill
            continue
        amount = fields['amount']
        if len(amount) != 12 or not amount.isdigit():
            raise _statement_error(number, "amount %r" % amount)
        if not fields['order_id'] or not fields['query_id']:
            raise _statement_error(number, "no orderId or queryId")
        lines.append(StatementLine(fields['order_id'], fields['query_id'],
                from_fen(amount), fields['trans_time'], kind))
    return lines


def _zm_line(values):
    "A line of the ZM file, its fields padded to their widths"
    parts = []
    for name, width in ZM_FIELDS:
        value = str(values.get(name, '')).encode(ZM_ENCODING)[:width]
        if name in {'amount', 'fee', 'settle_amount', 'net_amount',
                'sub_mer_amount', 'discount', 'invoice_amount',
                'instalment_fee'} and value:
            value = value.rjust(width, b'0')
        parts.append(value.ljust(width))
    return b' '.join(parts) + b'\r\n'


def write_statement(lines, mer_id='', acq_ins_code='48020000'):
    "Return the ZM file of the StatementLines, as the gateway writes it"
    data = b''
    for number, line in enumerate(lines, 1):
        data += _zm_line({
                'txn_code': 'S22' if line.kind == 'payment' else 'S30',
                'acq_ins_code': acq_ins_code.rjust(11, '0'),
                'send_ins_code': acq_ins_code.rjust(11, '0'),
                'trace_no': '%06d' % number,
                'trans_time': line.txn_time[4:14],
                'pan': '6216***********0018',
                'amount': to_fen(line.amount),
                'mcc': '4900', 'terminal_type': '07',
                'query_id': line.reference,
                'old_pay_type': '00',
                'order_id': line.order_id,
                'card_type': '01',
                'fee': 'D' + '0' * 12,
                'settle_amount': 'C' + to_fen(line.amount).rjust(12, '0'),
                'pay_type': '0001',
                'txn_type': '01' if line.kind == 'payment' else '04',
                'txn_sub_type': '01' if line.kind == 'payment' else '00',
                'biz_type': '000201', 'acc_type': '01',
                'interact_mode': '2', 'mer_id': mer_id,
                'net_amount': 'C' + to_fen(line.amount).rjust(12, '0'),
                'medium': '0',
                })
    return data


def write_archive(lines, mer_id, settle_date):
    """Return (file name, archive) of the statement of the settlement day
    (a date) as the gateway gives it: a zip of the ZM file
    INN<yyMMdd>01ZM_<merId> and the (here empty) error file ZME"""
    day = settle_date.strftime('%y%m%d')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED) as archive:
        archive.writestr('INN%s01ZM_%s' % (day, mer_id),
            write_statement(lines, mer_id))
        archive.writestr('INN%s01ZME_%s' % (day, mer_id), b'')
    return ('%s_%s.zip' % (mer_id, settle_date.strftime('%Y%m%d')),
        buffer.getvalue())


class UnionPayClient:
    """The merchant's client of the gateway at base_url (ending with /).

    key_pem and cert_pem are the merchant's signing key and certificate;
    authority_pem the certificate that issues the gateway's signing
    certificates (the root given with the merchant's access); file_url
    the address statements are downloaded from (base_url by default)."""

    def __init__(self, mer_id, key_pem, cert_pem, authority_pem, base_url,
            timeout=10, session=None, file_url=None):
        self.mer_id = mer_id
        self.key_pem = key_pem
        self.cert_id = cert_id(cert_pem)
        self.authority_pem = authority_pem
        self.base_url = _slash(base_url)
        self.file_url = _slash(file_url or self.base_url)
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
        """Return (file name, archive) of the statement of the settlement
        day (a date) downloaded with the file transfer request (txnType
        76, fileType 00), or (None, None) for a day of which the gateway
        holds no file; the archive comes deflated and in base 64"""
        answer = self._post(FILE_PATH, dict(self._common(),
                txnType='76', txnSubType='01', bizType='000000',
                fileType='00', settleDate=settle_date.strftime('%m%d'),
                txnTime=dt.datetime.now().strftime('%Y%m%d%H%M%S')),
            base_url=self.file_url)
        if answer.get('respCode') == NO_FILE:
            return None, None
        if answer.get('respCode') != '00':
            raise UnionPayError('answer', "no statement: %s %s" % (
                    answer.get('respCode'), answer.get('respMsg', '')))
        if answer.get('merId') != self.mer_id:
            raise UnionPayError('fields', "another merchant's statement")
        try:
            data = zlib.decompress(base64.b64decode(
                    answer['fileContent'], validate=True))
        except (KeyError, ValueError, zlib.error) as exception:
            raise UnionPayError('statement', str(exception))
        name = answer.get('fileName') or 'statement-%s.zip' % (
            settle_date.isoformat())
        return os.path.basename(name), data

    def _post(self, path, fields, base_url=None):
        "Post the signed fields to path; return the verified answer"
        import requests
        session = self.session or requests
        try:
            response = session.post((base_url or self.base_url) + path,
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
