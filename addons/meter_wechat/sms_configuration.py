"""Settings of the text messages (短信设置).

The provider and its keys are set per database in 数据管理 and read in
preference to the ``sms_*`` options of the ``[wechat]`` section of the
server configuration, which stay the fallback of an empty field (the
deployments set there keep working).
"""
from trytond import config
from trytond.model import ModelSingleton, ModelSQL, ModelView, fields

from .sms import LogProvider, get_provider

# The providers built, by their settings: the log provider keeps the
# messages it wrote (tests and developers read the codes there)
providers = {}
# The fields that set an option of the provider (sms_<name> in the
# configuration file)
OPTIONS = ('endpoint', 'access_key_id', 'access_key_secret', 'sign_name')


class SmsConfiguration(ModelSingleton, ModelSQL, ModelView):
    """Text message settings: the provider, its keys, its signature and
    template of the verification codes, and a number to test them"""
    __name__ = 'meter.sms.configuration'
    provider = fields.Selection([
            (None, ""),
            ('log', "Server Log (Development)"),
            ('aliyun', "Aliyun SMS"),
            ], "Provider",
        help="Empty for the provider of the server configuration file.")
    endpoint = fields.Char(
        "Endpoint", help="The provider's API, its public one when empty.")
    access_key_id = fields.Char("AccessKey ID")
    access_key_secret = fields.Char("AccessKey Secret")
    sign_name = fields.Char(
        "Signature", help="The signature approved by the provider.")
    template_verification = fields.Char(
        "Verification Code Template",
        help="The provider's template code of the verification codes; it "
        "takes the code as ${code}.")
    test_phone = fields.Char(
        "Test Mobile Number",
        help="The mobile number the connection test sends a code to.")

    def settings(self):
        """Return the provider's name, options and templates: the fields
        set here, the server configuration for the others"""
        name = (self.provider
            or config.get('wechat', 'sms_provider', default=None) or 'log')
        options, templates = {}, {}
        if config.has_section('wechat'):
            for option in config.options('wechat'):
                value = config.get('wechat', option)
                if option.startswith('sms_template_'):
                    templates[option[len('sms_template_'):]] = value
                elif option.startswith('sms_') and option != 'sms_provider':
                    options[option[len('sms_'):]] = value
        for option in OPTIONS:
            value = getattr(self, option)
            if value:
                options[option] = value
        if self.template_verification:
            templates['verification'] = self.template_verification
        return name, options, templates

    def get_provider(self):
        """Return the provider of the settings, built once for them.

        Raise ValueError when the provider is unknown or lacks a required
        key."""
        name, options, templates = self.settings()
        if name == 'log':
            key = 'log'
        else:
            key = (name, tuple(sorted(options.items())),
                tuple(sorted(templates.items())))
        provider = providers.get(key)
        if provider is None:
            if name == 'log':
                provider = LogProvider(templates=templates)
            else:
                provider = get_provider(name, templates=templates, **options)
            providers[key] = provider
        return provider
