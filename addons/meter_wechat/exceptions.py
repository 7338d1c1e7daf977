from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


class BindingError(UserError):
    pass


class BindingLimitError(BindingError):
    pass


class BindingValidationError(ValidationError):
    pass


class RateLimitError(UserError):
    pass


class ArticleValidationError(ValidationError):
    pass
