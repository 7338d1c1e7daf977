from trytond.exceptions import UserError


class AppointmentError(UserError):
    pass
