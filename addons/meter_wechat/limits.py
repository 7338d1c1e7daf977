"""The daily limits of the visitors' submissions, and the photo a
submission uploads: counted before the photo is downloaded or decoded,
so that a visitor over the limit costs no image work."""
import datetime as dt
import logging
import re

from trytond.i18n import gettext
from trytond.protocols.wrappers import HTTPStatus

from .client import WeChatApiError
from .exceptions import SubmissionError
from .web import PageError, centre_now, configuration

__all__ = [
    'DAILY_LIMITS', 'limit_key', 'check_limit', 'uploaded_photo',
    'photo_after_limit', 'photos_after_limit']

logger = logging.getLogger(__name__)

_MEDIA_ID = re.compile(r'^[A-Za-z0-9_-]{1,128}$')
# Submissions a resident may make per day
DAILY_LIMITS = {
    'bind': 10,
    'bind_failure': 5,
    'sms': 10,
    'reading': 10,
    'work_order': 10,
    'follow_up': 20,
    'payment': 5,
    }


def limit_key(user, action, date):
    "The key of the counter of user's submissions of action on date"
    return 'limit:%s:%s:%s' % (action, user.id, date.isoformat())


def check_limit(pool, user, action):
    """Count a submission of the WeChat user and refuse those over the
    daily limit.

    The day is the centre's: the counter of a day starts at the centre's
    midnight and expires at the next one."""
    Store = pool.get('meter.wechat.store')
    local = centre_now(pool)
    tomorrow = dt.datetime.combine(
        local.date() + dt.timedelta(days=1), dt.time(), tzinfo=local.tzinfo)
    now = local.timestamp()
    key = limit_key(user, action, local.date())
    if Store.increment(key, tomorrow.timestamp(), now) > DAILY_LIMITS[action]:
        raise PageError(HTTPStatus.TOO_MANY_REQUESTS, 'msg_page_daily_limit')


def uploaded_photo(request, pool, name='photo'):
    """Return the bytes of the photo: a file, or the serverId of a photo
    the JS-SDK uploaded to WeChat (wx.uploadImage), downloaded from it;
    None without either.  Either is then checked as any upload."""
    upload = request.files.get(name)
    if upload and upload.filename:
        return upload.read()
    media_id = request.form.get('media_id', '').strip()
    if media_id:
        api = configuration(pool).api()
        if not api or not _MEDIA_ID.match(media_id):
            raise SubmissionError(gettext('meter_wechat.msg_photo_download'))
        try:
            return api.download_media(media_id)
        except WeChatApiError as exception:
            logger.info("media %s not downloaded: %s", media_id, exception)
            raise SubmissionError(gettext('meter_wechat.msg_photo_download'))
    return None


def photo_after_limit(request, pool, visitor, action, name='photo'):
    """Return the callable a submission method calls for its photo: it
    counts the visitor's submission of action against the daily limit
    first, so that over the limit no photo is downloaded or decoded."""
    def photo():
        visitor.check_limit(pool, action)
        return uploaded_photo(request, pool, name)
    return photo


def photos_after_limit(request, pool, visitor, action, limit,
        name='photo'):
    """Return the photos of a form that takes several, as (bytes,
    filename) pairs: the files of its inputs named name, then the
    serverIds (media_id, one field a photo) of those the JS-SDK uploaded
    to WeChat, downloaded from it.  A form with a photo counts against the
    visitor's daily limit of action first; no more than limit + 1 photos
    are read, so that the model refuses the extra one without more being
    downloaded."""
    uploads = [u for u in request.files.getlist(name) if u and u.filename]
    media_ids = [m.strip() for m in request.form.getlist('media_id')
        if m.strip()]
    if not uploads and not media_ids:
        return []
    visitor.check_limit(pool, action)
    photos = [(u.read(), u.filename) for u in uploads[:limit + 1]]
    if media_ids and len(photos) <= limit:
        api = configuration(pool).api()
        for media_id in media_ids[:limit + 1 - len(photos)]:
            if not api or not _MEDIA_ID.match(media_id):
                raise SubmissionError(
                    gettext('meter_wechat.msg_photo_download'))
            try:
                photos.append(
                    (api.download_media(media_id), media_id + '.jpg'))
            except WeChatApiError as exception:
                logger.info(
                    "media %s not downloaded: %s", media_id, exception)
                raise SubmissionError(
                    gettext('meter_wechat.msg_photo_download'))
    return photos
