from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError
from trytond.modules.meter_wechat.exceptions import SubmissionError


class ContactError(ValidationError):
    "A contact field of a user written wrong, in sao or on the field pages"


class PasswordChangeError(SubmissionError):
    """A password change refused on the field pages: a failed check of the
    old password stays counted by Tryton's login throttling"""


class LabelError(UserError):
    pass


class LabelPrinterError(UserError):
    pass


class RoundError(UserError):
    "A reading round or one of its meters changed against its rules"


class LossError(UserError):
    "A main meter set against its rules, or losses asked without a period"


class UsageReportError(UserError):
    "A usage report asked on nothing or on too much"
