"""Calls to the WeChat API through wechatpy.

wechatpy builds most URLs from ``API_BASE_URL`` (a class attribute of its
clients, read through the instance) but hard-codes the access token URL
and never sets a timeout.  The subclasses here fix both so that the whole
API can be aimed at a fake server and no call can hang a worker.
"""
import logging
import secrets
import time
from urllib.parse import urljoin

import requests
from requests.adapters import HTTPAdapter
from wechatpy import WeChatClient, WeChatOAuth
from wechatpy.exceptions import WeChatClientException
from wechatpy.utils import WeChatSigner

__all__ = [
    'DEFAULT_API_BASE_URL', 'WeChatApiError', 'MeterWeChatClient',
    'MeterWeChatOAuth', 'WeChatApi', 'jsapi_signature',
    ]

logger = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = 'https://api.weixin.qq.com/'
# invalid credential, invalid access_token, access_token expired
TOKEN_ERRORS = {40001, 40014, 42001}
# invalid code, code already used
CODE_ERRORS = {40029, 40163}
MEDIA_ERRORS = {40007}
_ERROR_CODES = [
    (TOKEN_ERRORS, 'invalid_credential'),
    (CODE_ERRORS, 'invalid_code'),
    (MEDIA_ERRORS, 'invalid_media'),
    ({45009, 45011, 45047}, 'rate_limited'),
    ({43004}, 'not_subscribed'),
    ({40037}, 'invalid_template'),
    ]


def jsapi_signature(ticket, noncestr, timestamp, url):
    """Return the signature of wx.config (JS-SDK 签名算法).

    The sha1 of the fields jsapi_ticket, noncestr, timestamp and url sorted
    and joined as a query string, not URL-encoded, signed by wechatpy's
    signer as its ``WeChatJSAPI.get_jsapi_signature`` does (which needs a
    client); url is the full address of the page without its fragment.
    """
    signer = WeChatSigner(delimiter=b'&')
    signer.add_data(
        'jsapi_ticket=%s' % ticket, 'noncestr=%s' % noncestr,
        'timestamp=%s' % timestamp, 'url=%s' % url.split('#', 1)[0])
    return signer.signature


class WeChatApiError(Exception):
    """A failed call to the WeChat API.

    ``code`` is stable ('invalid_credential', 'invalid_code',
    'invalid_media', 'rate_limited', 'not_subscribed', 'invalid_template',
    'media_too_large', 'network_error', 'api_error'), ``errcode`` is
    WeChat's number when it gave one.
    """

    def __init__(self, code, message='', errcode=None):
        super().__init__(message or code)
        self.code = code
        self.errcode = errcode

    @classmethod
    def from_wechat(cls, exception):
        errcode = exception.errcode
        try:
            errcode = int(errcode) if errcode is not None else None
        except (TypeError, ValueError):
            errcode = None
        code = 'api_error'
        for errcodes, name in _ERROR_CODES:
            if errcode in errcodes:
                code = name
                break
        if errcode is None:
            response = getattr(exception, 'response', None)
            status = getattr(response, 'status_code', None)
            message = 'HTTP %s' % status
        else:
            message = '%s %s' % (errcode, exception.errmsg)
        return cls(code, message, errcode)


class _TimeoutAdapter(HTTPAdapter):
    "Gives a default timeout to the requests that have none"

    def __init__(self, timeout, *args, **kwargs):
        self.timeout = timeout
        super().__init__(*args, **kwargs)

    def send(self, request, **kwargs):
        if kwargs.get('timeout') is None:
            kwargs['timeout'] = self.timeout
        return super().send(request, **kwargs)


def _mount_timeout(http, timeout):
    adapter = _TimeoutAdapter(timeout)
    http.mount('http://', adapter)
    http.mount('https://', adapter)


class MeterWeChatClient(WeChatClient):
    """wechatpy's client aimed at api_base_url.

    wechatpy retries a call once the token is refreshed for ever when the
    server keeps refusing it: auto_retry is off, WeChatApi retries once.
    """

    def __init__(
            self, appid, secret, api_base_url=DEFAULT_API_BASE_URL,
            session=None, timeout=10):
        super().__init__(
            appid, secret, session=session, timeout=timeout,
            auto_retry=False)
        self.API_BASE_URL = urljoin(api_base_url, 'cgi-bin/')
        _mount_timeout(self._http, timeout)

    def fetch_access_token(self):
        return self._fetch_access_token(
            url=self.API_BASE_URL + 'token',
            params={
                'grant_type': 'client_credential',
                'appid': self.appid,
                'secret': self.secret,
                })


class MeterWeChatOAuth(WeChatOAuth):
    "wechatpy's web page authorization (网页授权) aimed at api_base_url"

    def __init__(
            self, app_id, secret, redirect_uri='', scope='snsapi_base',
            state='', api_base_url=DEFAULT_API_BASE_URL,
            oauth_base_url=None, timeout=10):
        super().__init__(app_id, secret, redirect_uri, scope, state)
        self.API_BASE_URL = api_base_url
        if oauth_base_url:
            self.OAUTH_BASE_URL = oauth_base_url
        _mount_timeout(self._http, timeout)


class WeChatApi:
    """The calls the metering service makes to WeChat.

    session is a wechatpy session storage (get, set, delete) for the access
    token; several worker processes must share one, as every fetch of a
    token invalidates the previous one after a few minutes.
    """

    def __init__(
            self, appid, secret, api_base_url=DEFAULT_API_BASE_URL,
            session=None, timeout=10, max_media_size=10 * 1024 * 1024,
            oauth_base_url=None):
        if not appid or not secret:
            raise ValueError("appid and secret are required")
        if not api_base_url.endswith('/'):
            api_base_url += '/'
        self.appid = appid
        self.secret = secret
        self.api_base_url = api_base_url
        self.oauth_base_url = oauth_base_url
        self.timeout = timeout
        self.max_media_size = max_media_size
        self.client = MeterWeChatClient(
            appid, secret, api_base_url=api_base_url, session=session,
            timeout=timeout)

    def oauth(self, redirect_uri='', scope='snsapi_base', state=''):
        "Return a wechatpy OAuth object, e.g. for its authorize_url"
        return MeterWeChatOAuth(
            self.appid, self.secret, redirect_uri, scope=scope, state=state,
            api_base_url=self.api_base_url,
            oauth_base_url=self.oauth_base_url, timeout=self.timeout)

    def _call(self, function, *args, **kwargs):
        "Call function, once more with a new token if it was refused"
        for attempt in range(2):
            try:
                return function(*args, **kwargs)
            except WeChatClientException as exception:
                if attempt == 0 and exception.errcode in TOKEN_ERRORS:
                    logger.info("WeChat refused the access token, refreshing")
                    try:
                        self.client.fetch_access_token()
                    except WeChatClientException as exception:
                        raise WeChatApiError.from_wechat(exception)
                    except requests.RequestException as exception:
                        raise WeChatApiError('network_error', str(exception))
                    continue
                raise WeChatApiError.from_wechat(exception)
            except requests.RequestException as exception:
                raise WeChatApiError('network_error', str(exception))
            except (KeyError, TypeError, ValueError) as exception:
                raise WeChatApiError(
                    'api_error', "unexpected answer: %r" % exception)

    def oauth_openid(self, code):
        """Return the OpenID of the resident who authorized with code.

        Only snsapi_base is needed: the OpenID is all the service uses.
        """
        if not isinstance(code, str) or not code or len(code) > 128:
            raise WeChatApiError('invalid_code', "invalid code", 40029)
        result = self._call(self.oauth().fetch_access_token, code)
        openid = result.get('openid')
        if not openid:
            raise WeChatApiError('api_error', "no openid in answer")
        return openid

    def jsapi_ticket(self):
        """Return the jsapi_ticket of the JS-SDK.

        wechatpy keeps it in the session storage until it expires (7200 s):
        WeChat limits how often it may be fetched.
        """
        ticket = self._call(self.client.jsapi.get_jsapi_ticket)
        if not ticket:
            raise WeChatApiError('api_error', "no ticket in answer")
        return ticket

    def jsapi_config(self, url, now=None):
        """Return the parameters of wx.config for the page at url:
        appId, timestamp, nonceStr and signature."""
        timestamp = int(time.time() if now is None else now)
        nonce = secrets.token_hex(8)
        return {
            'appId': self.appid,
            'timestamp': timestamp,
            'nonceStr': nonce,
            'signature': jsapi_signature(
                self.jsapi_ticket(), nonce, timestamp, url),
            }

    def download_media(self, media_id):
        "Return the bytes of a temporary media (临时素材), e.g. a photo"
        if not isinstance(media_id, str) or not media_id \
                or len(media_id) > 256:
            raise WeChatApiError('invalid_media', "invalid media_id", 40007)
        response = self._call(self.client.media.download, media_id)
        if not isinstance(response, requests.Response):
            # JSON without errcode: a video URL or something unexpected
            raise WeChatApiError('invalid_media', "media is not a file")
        content = response.content
        if len(content) > self.max_media_size:
            raise WeChatApiError('media_too_large', "media too large")
        return content

    def send_template(self, openid, template_id, data, url=None):
        """Send a template message (模板消息) and return its msgid.

        data maps the template's keys to values or to dicts with 'value'
        (and 'color').
        """
        data = {
            k: v if isinstance(v, dict) else {'value': v}
            for k, v in data.items()}
        result = self._call(
            self.client.message.send_template, openid, template_id, data,
            url=url)
        return result.get('msgid')

    def create_menu(self, menu):
        "Replace the custom menu (自定义菜单) of the account"
        self._call(self.client.menu.create, menu)
