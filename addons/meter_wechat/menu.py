"""Create the custom menu (自定义菜单) of the official account.

    python -m trytond.modules.meter_wechat.menu -c trytond.conf -d DATABASE

The buttons open the resident pages through WeChat's OAuth (snsapi_base)
so that the pages know the resident at once.
"""
import argparse
import json
import sys
from urllib.parse import urlencode, urljoin


def build_menu(configuration):
    "Return the menu of the database's settings (base_url is required)"
    from .reply import FIELD_PAGES, default_menu, default_reply_table
    base_url = configuration.get_setting('base_url')
    api = configuration.api()
    if not base_url or not api:
        raise ValueError(
            "base_url, appid and secret must be set to create the menu")
    if not base_url.endswith('/'):
        base_url += '/'
    table = default_reply_table(
        base_url, configuration.reply_texts(),
        name=configuration.get_setting('service_name'),
        phone=configuration.get_setting('service_phone'))

    # The staff's pages log their visitor in by OAuth too (meter_field)
    field_url = urljoin(base_url, FIELD_PAGES)

    def link(url):
        pages = field_url if url.startswith(field_url) else base_url
        page = url[len(pages):] if url.startswith(pages) else ''
        redirect_uri = pages + 'oauth?' + urlencode({'next': page})
        return api.oauth(redirect_uri).authorize_url
    return api, default_menu(table, link=link)


def create_menu(database, dry_run=False):
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    loaded = database in Pool.database_list()
    pool = Pool(database)
    if not loaded:
        with Transaction().start(database, 0, readonly=True):
            pool.init()
    with Transaction().start(database, 0) as transaction:
        Configuration = pool.get('meter.wechat.configuration')
        api, menu = build_menu(Configuration(1))
        if not dry_run:
            api.create_menu(menu)
        transaction.commit()
    return menu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-c', '--config', dest='configfile')
    parser.add_argument('-d', '--database', required=True)
    parser.add_argument('--dry-run', action='store_true',
        help="print the menu without sending it")
    args = parser.parse_args(argv)
    if args.configfile:
        from trytond import config
        config.update_etc(args.configfile)
    from .client import WeChatApiError
    try:
        menu = create_menu(args.database, dry_run=args.dry_run)
    except (ValueError, WeChatApiError) as exception:
        print(exception, file=sys.stderr)
        return 1
    print(json.dumps(menu, ensure_ascii=False, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
