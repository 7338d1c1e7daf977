# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


class TariffError(UserError):
    pass


class TariffValidationError(ValidationError):
    pass


class BillingError(UserError):
    pass


class BillStateError(UserError):
    pass


class PaymentError(UserError):
    pass


class PaymentStateError(UserError):
    pass


class PrepaidLineError(UserError):
    pass


class PrepaidBalanceError(PrepaidLineError):
    pass


class HistoryImportError(UserError):
    pass


class AccountImportError(UserError):
    pass


class PaymentGatewayError(UserError):
    pass


class ExchangeColumnError(ValidationError):
    "A column of the billing system's files that its file has not"


class ExchangeDirectoryError(UserError):
    "The exchange directory that could not be written"
