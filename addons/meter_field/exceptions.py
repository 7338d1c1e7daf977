from trytond.exceptions import UserError


class LabelError(UserError):
    pass


class LabelPrinterError(UserError):
    pass
