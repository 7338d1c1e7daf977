from trytond.exceptions import UserError, UserWarning
from trytond.model.exceptions import ValidationError


class ReadingValidationError(ValidationError):
    pass


class ReadingLowerError(UserError):
    pass


class ReadingStateError(UserError):
    pass


class ReadingAnomalyWarning(UserWarning):
    pass


class MeterChangeError(UserError):
    pass


class MeterValidationError(ValidationError):
    pass


class MeterInstallError(UserError):
    pass


class MeterPositionError(UserError):
    pass


class PhotoValidationError(ValidationError):
    pass


class PostDelegationError(UserError):
    pass
