# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
from trytond.exceptions import UserError, UserWarning


class PollError(UserError):
    pass


class ImportFileError(UserError):
    pass


class ImportFileWarning(UserWarning):
    pass


class PlatformError(UserError):
    pass
