# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""The addresses the payment gateways call: their notifications.  The
route reads the request and hands it to the gateway's model."""
from trytond.protocols.wrappers import (
    HTTPStatus, Response, with_pool, with_transaction)
from trytond.wsgi import app

MAX_NOTIFICATION_SIZE = 64 * 1024


@app.route('/<database_name>/payment_gateway/<int:gateway_id>/notify',
    methods=['POST'])
@with_pool
@with_transaction(readonly=False)
def notify(request, pool, gateway_id):
    "The back-end notification of a payment gateway (UnionPay's backUrl)"
    if (request.content_length or 0) > MAX_NOTIFICATION_SIZE:
        return Response('too large', HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
    try:
        Gateway = pool.get('meter.payment.gateway')
    except KeyError:
        return Response('not found', HTTPStatus.NOT_FOUND)
    form = request.form.to_dict()
    accepted = Gateway.handle_notification(
        gateway_id, form, body=request.get_data())
    body, content_type, status = Gateway.notification_answer(
        gateway_id, accepted)
    return Response(body, status, content_type=content_type)
