"""Integration settings (数据管理): the connections to the services outside

The WeChat account, the text messages (SMS), the energy platforms, the
collectors and the billing system's exchange are set in their own forms,
gathered under one menu.  Their secrets are write-only: the stored field
may be neither read nor written by any user (a field access of no group,
so not by the administrators either); the form shows a password input
that writes it and tells only whether it is set.  Each connection has a
test button that tries it for real and records the outcome, or shows the
exact error."""
import datetime as dt
import os
import secrets
import tempfile

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.modules.meter_billing.rules import billing_system
from trytond.modules.meter_devices.bus import polling
from trytond.modules.meter_wechat.client import WeChatApiError
from trytond.modules.meter_wechat.routes import sms_message
from trytond.modules.meter_wechat.sms import SmsError, normalize_phone
from trytond.pool import Pool, PoolMeta
from trytond.transaction import without_check_access

from .exceptions import ConnectionTestError

REDACTED = '***'


def _redact(text, secrets):
    "Return text without the secrets (an error may quote a URL with one)"
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


class WriteOnlySecretsMixin:
    """The fields of _secrets (input field: stored field) are written
    through their input, whose value is never read back, and told set by
    <stored field>_set.  The input's name holds 'secret' or 'token', so
    that Tryton's log of the calls leaves out its value."""
    __slots__ = ()
    _secrets = {}

    connection_status = fields.Char("Connection Test", readonly=True)
    connection_tested_at = fields.DateTime("Tested At", readonly=True)

    def get_secret_input(self, name):
        return None

    @classmethod
    def set_secret_input(cls, records, name, value):
        # An empty input leaves the secret as it is: the form never shows
        # it, so an untouched input is empty.
        if value:
            with without_check_access():
                cls.write(list(records), {cls._secrets[name]: value})

    def get_secret_set(self, name):
        with without_check_access():
            return bool(getattr(self, name[:-len('_set')]))

    def _test_passed(self, status=None):
        with without_check_access():
            self.write([self], {
                    'connection_status': status or gettext(
                        'meter_field.msg_connection_test_passed'),
                    'connection_tested_at': dt.datetime.now(),
                    })

    def _test_failed(self, error):
        with without_check_access():
            hidden = [getattr(self, s) for s in self._secrets.values()]
        raise ConnectionTestError(gettext(
                'meter_field.msg_connection_test_failed',
                connection=self.rec_name,
                error=_redact(str(error), hidden)))


def _secret_fields(string):
    return (
        fields.Function(fields.Char(string), 'get_secret_input',
            setter='set_secret_input'),
        fields.Function(fields.Boolean(
                "%s Set" % string,
                help="Set: the value is kept and never shown back."),
            'get_secret_set'))


class WeChatConfiguration(WriteOnlySecretsMixin, metaclass=PoolMeta):
    __name__ = 'meter.wechat.configuration'
    _secrets = {
        'secret_input': 'secret',
        'token_input': 'token',
        'aes_key_secret_input': 'encoding_aes_key',
        }
    secret_input, secret_set = _secret_fields("AppSecret")
    token_input, token_set = _secret_fields("Token")
    aes_key_secret_input, encoding_aes_key_set = _secret_fields(
        "EncodingAESKey")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'test_connection': {},
                })

    def get_rec_name(self, name):
        return gettext('meter_field.msg_connection_wechat')

    @classmethod
    @ModelView.button
    def test_connection(cls, configurations):
        """Fetch an access token with the AppID and AppSecret from the
        configured API"""
        for configuration in configurations:
            with without_check_access():
                api = configuration.api()
            if not api:
                raise ConnectionTestError(gettext(
                        'meter_field.msg_connection_wechat_not_set'))
            try:
                api._call(api.client.fetch_access_token)
            except WeChatApiError as exception:
                configuration._test_failed(exception)
            configuration._test_passed()


class Platform(WriteOnlySecretsMixin, metaclass=PoolMeta):
    __name__ = 'meter.platform'
    _secrets = {'token_input': 'token'}
    token_input, token_set = _secret_fields("Token")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'test_connection': {},
                })

    @classmethod
    @ModelView.button
    def test_connection(cls, platforms):
        "Ask the platform for its file, as a pull does, importing nothing"
        for platform in platforms:
            try:
                with without_check_access():
                    platform.fetch()
            except Exception as exception:
                # PlatformError names the platform and the HTTP error
                platform._test_failed(getattr(exception, 'message', None)
                    or exception)
            platform._test_passed()


class Collector(WriteOnlySecretsMixin, metaclass=PoolMeta):
    __name__ = 'meter.collector'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'test_connection': {},
                })

    @classmethod
    @ModelView.button
    def test_connection(cls, collectors):
        "Open the collector's port (a device or a socket) and close it"
        for collector in collectors:
            try:
                port = polling.open_port(collector.port,
                    baudrate=collector.baudrate, parity=collector.parity,
                    bytesize=collector.bytesize,
                    stopbits=collector.stopbits, timeout=collector.timeout)
            except polling.PollingError as exception:
                collector._test_failed('%s: %s' % (gettext(
                            'meter_devices.msg_poll_%s' % exception.code),
                        exception))
            port.close()
            collector._test_passed()


class SmsConfiguration(WriteOnlySecretsMixin, metaclass=PoolMeta):
    __name__ = 'meter.sms.configuration'
    _secrets = {'access_key_secret_input': 'access_key_secret'}
    access_key_secret_input, access_key_secret_set = _secret_fields(
        "AccessKey Secret")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'test_connection': {},
                })

    def get_rec_name(self, name):
        return gettext('meter_field.msg_connection_sms')

    @classmethod
    @ModelView.button
    def test_connection(cls, configurations):
        """Send a verification code to the test number through the
        provider the residents' codes go through"""
        for configuration in configurations:
            if not configuration.test_phone:
                raise ConnectionTestError(gettext(
                        'meter_field.msg_connection_sms_no_phone'))
            try:
                with without_check_access():
                    provider = configuration.get_provider()
            except ValueError as exception:
                # A provider lacking a key, or unknown
                configuration._test_failed(gettext(
                        'meter_field.msg_connection_sms_not_set',
                        error=exception))
            code = '%06d' % secrets.randbelow(10 ** 6)
            try:
                provider.send(
                    configuration.test_phone, 'verification', {'code': code})
            except SmsError as exception:
                configuration._test_failed(sms_error(exception))
            # The development provider writes to the log: nothing is sent
            configuration._test_passed(gettext(
                    'meter_field.msg_connection_sms_logged'
                    if provider.name == 'log'
                    else 'meter_field.msg_connection_sms_sent',
                    phone=normalize_phone(configuration.test_phone),
                    code=code))


def sms_error(exception):
    """The translated message of an SmsError followed by what the provider
    said (its code and message) or why it could not be reached"""
    said = [exception.details.get(k) for k in [
            'provider_code', 'provider_message', 'reason']]
    text = sms_message(exception)
    if any(said):
        text += ' (%s)' % ': '.join(str(s) for s in said if s)
    return text


class BillingExchange(WriteOnlySecretsMixin, metaclass=PoolMeta):
    __name__ = 'meter.billing.exchange'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'test_connection': {},
                })

    def get_rec_name(self, name):
        return gettext('meter_field.msg_connection_billing')

    @classmethod
    @ModelView.button
    def test_connection(cls, exchanges):
        """Write and remove a file in the exchange directory, check that the
        files hold the columns the billing system needs and read the
        sample history file; every problem is reported"""
        Column = Pool().get('meter.billing.exchange.column')
        selection = Column.fields_get(['file', 'column'])
        files = dict(selection['file']['selection'])
        labels = dict(selection['column']['selection'])
        for exchange in exchanges:
            problems = []
            if exchange.directory:
                error = probe_directory(exchange.directory)
                if error:
                    problems.append(gettext(
                            'meter_field.msg_connection_billing_directory',
                            directory=exchange.directory, error=error))
            separator = gettext('meter_field.msg_list_separator')
            for what in ['bills', 'payments']:
                missing = billing_system.missing_columns(
                    what, exchange.mapping(what))
                if missing:
                    problems.append(gettext(
                            'meter_field.msg_connection_billing_columns',
                            file=files[what],
                            columns=separator.join(
                                labels[k] for k in missing)))
            if exchange.sample:
                error = sample_error(exchange.sample, exchange.sample_name)
                if error:
                    problems.append(error)
            if problems:
                exchange._test_failed(' '.join(problems))
            exchange._test_passed()


def probe_directory(directory):
    """Return why a file can not be written to directory and removed, or
    None when it can"""
    if not os.path.isdir(directory):
        return gettext('meter_field.msg_connection_billing_no_directory')
    try:
        with tempfile.NamedTemporaryFile(
                dir=directory, prefix='.meter-probe-'):
            pass
    except OSError as exception:
        return exception.strerror or str(exception)


def sample_error(data, filename):
    """Return the first problem of the sample history file as the history
    import shows it, or None when every row reads"""
    filename = filename or 'history'
    try:
        result = billing_system.read_history(data, filename)
    except billing_system.ExchangeError as exception:
        return gettext('meter_billing.msg_history_file', filename=filename,
            error=gettext(
                'meter_billing.msg_history_error_' + exception.code,
                **exception.params))
    if result.errors:
        error = result.errors[0]
        return gettext('meter_field.msg_connection_billing_sample',
            filename=filename,
            row=gettext('meter_billing.msg_history_row', row=error.row),
            error=gettext('meter_billing.msg_history_error_' + error.code,
                **error.params))
    if not result.rows:
        return gettext('meter_field.msg_connection_billing_sample_empty',
            filename=filename)
