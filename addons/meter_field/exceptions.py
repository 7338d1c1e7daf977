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


class SyncError(SubmissionError):
    """A submission sent by a phone's queue refused before anything of it
    was written: its key or its time is not valid"""


class BluetoothReadingError(SubmissionError):
    """A reading over Bluetooth refused before anything of it is written:
    the phone keeps the bytes received and says why"""


class BluetoothConfigurationError(ValidationError):
    "A UUID of the Bluetooth bridge that Web Bluetooth would not take"


class ConnectionTestError(UserError):
    "A connection to a service outside failed its test: the exact error"


class LossError(UserError):
    "A main meter set against its rules, or losses asked without a period"


class UsageReportError(UserError):
    "A usage report asked on nothing or on too much"
