"""What the submissions of the pages share on the model side: the photo
they carry, given as bytes or as a callable that fetches it, and checked
as any upload.

A submission method (``Reading.submit``, ``WorkOrder.submit``,
``Payment.submit_transfer``) makes its cheap checks first and only then
calls the photo: the web layer counts the daily limit in that callable,
so that a visitor over the limit costs no download nor decoding.
"""
from trytond.i18n import gettext

from .exceptions import SubmissionError
from .photo import PhotoError
from .photo import check_photo as _check_photo

__all__ = ['fetch_photo', 'check_photo']


def fetch_photo(photo):
    "Return the bytes of photo: given as is, or returned by the callable"
    return photo() if callable(photo) else photo


def check_photo(data):
    "Raise SubmissionError with the translated reason when data is refused"
    try:
        _check_photo(data)
    except PhotoError as exception:
        raise SubmissionError(gettext(
                'meter_wechat.msg_photo_%s' % exception.code,
                **exception.params)) from exception
