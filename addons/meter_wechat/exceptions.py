from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


class SubmissionError(UserError):
    """A submission of a page refused before anything of it is written:
    the form shows the message and the counters of the daily limits
    stay."""
    pass


class BindingError(SubmissionError):
    pass


class BindingLimitError(BindingError):
    pass


class BindingMismatchError(BindingError):
    "The account number and its verification do not match"
    pass


class BindingValidationError(ValidationError):
    pass


class RateLimitError(UserError):
    pass


class ArticleValidationError(ValidationError):
    pass
