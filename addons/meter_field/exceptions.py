from trytond.modules.meter_wechat.exceptions import SubmissionError


class ContactError(SubmissionError):
    "A contact field of a user written wrong on the field pages"


class PasswordChangeError(SubmissionError):
    """A password change refused on the field pages: a failed check of the
    old password stays counted by Tryton's login throttling"""
