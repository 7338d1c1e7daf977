from trytond.exceptions import UserError


class AppointmentError(UserError):
    pass


class FieldReportError(UserError):
    pass
