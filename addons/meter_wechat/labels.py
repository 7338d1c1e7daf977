"""The labels the residents read: the translated text of a selection's
value, in the language of the transaction (zh_CN on the pages).

A selection's text has one source, its translation in zh_CN.po, read
back with ``fields_get``.  Where the residents' wording differs from the
staff's (a resident's bill is 待缴费, finance's 已出账), each value has a
message of its own, ``meter_wechat.msg_resident_<wording>_<value>``; the
fields concerned are listed in RESIDENT_WORDING.
"""
from trytond.i18n import gettext
from trytond.pool import Pool

__all__ = ['RESIDENT_WORDING', 'selection', 'label', 'anomaly']

RESIDENT_WORDING = {
    ('meter.meter', 'kind'): 'meter_kind',
    ('meter.reading', 'state'): 'reading_state',
    ('meter.reading', 'anomalies'): 'anomaly',
    ('meter.wechat.binding', 'state'): 'binding_state',
    ('meter.payment', 'state'): 'payment_state',
    ('meter.bill', 'state'): 'bill_state',
    ('meter.notice', 'kind'): 'notice_kind',
    ('meter.work_order', 'state'): 'work_order_state',
    ('meter.work_order', 'kind'): 'work_order_kind',
    }


def selection(model, field):
    "Return the (value, text) of the selection of field of model"
    Model = Pool().get(model)
    values = Model.fields_get([field])[field]['selection']
    wording = RESIDENT_WORDING.get((model, field))
    if wording:
        return [(v, gettext('meter_wechat.msg_resident_%s_%s' % (wording, v)))
            for v, _ in values if v]
    return [(v, text) for v, text in values if v]


def label(record, field, value=None):
    """Return the text of the value of field of record (or of value, when
    given, for a model name as record); '' for no value"""
    model = record if isinstance(record, str) else record.__name__
    if value is None and not isinstance(record, str):
        value = getattr(record, field)
    if not value:
        return ''
    wording = RESIDENT_WORDING.get((model, field))
    if wording:
        return gettext(
            'meter_wechat.msg_resident_%s_%s' % (wording, value))
    return dict(selection(model, field)).get(value, value)


def anomaly(code):
    "Return the text of an anomaly of a reading, in the residents' words"
    return label('meter.reading', 'anomalies', code)
