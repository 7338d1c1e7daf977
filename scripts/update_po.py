"""Refresh the addons' locale/zh_CN.po from their models, views and data.

Runs trytond-admin's own translation export in a throwaway SQLite
database: every translatable string (fields, selections, views, menus,
messages, reports) is collected, the existing Chinese is kept and new
strings come with an empty msgstr to fill.

    .venv/bin/python scripts/update_po.py [meter_base ...]
"""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULES = ['meter_base', 'meter_service', 'meter_devices', 'meter_billing',
    'meter_wechat', 'meter_field']


def main(modules):
    modules = modules or MODULES
    tmp = tempfile.mkdtemp(prefix='meter-po-')
    open(os.path.join(tmp, 'po.sqlite'), 'w').close()
    passfile = os.path.join(tmp, 'pass')
    with open(passfile, 'w') as fp:
        fp.write('admin')
    env = dict(os.environ, TRYTONPASSFILE=passfile,
        TRYTOND_DATABASE__URI='sqlite://', TRYTOND_DATABASE__PATH=tmp)
    admin = os.path.join(os.path.dirname(sys.executable), 'trytond-admin')
    # Chinese loaded from the start: meter_base overrides some of party's
    # translations, which must be there to be overridden.
    subprocess.run([admin, '-d', 'po', '--email', 'admin@example.com',
            '--all', '--activate-dependencies', '-l', 'zh_CN',
            '-u', *MODULES],
        check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run([admin, '-d', 'po', '-l', 'zh_CN',
            '--export-translations', '-u', *modules],
        check=True, env=env, stdout=subprocess.DEVNULL)
    for module in modules:
        path = os.path.join(ROOT, 'addons', module, 'locale', 'zh_CN.po')
        with open(path, encoding='utf-8') as fp:
            text = fp.read()
        missing = len(re.findall(r'msgstr ""\n(?!")', text + '\n'))
        print(f'{path}: {missing} strings without Chinese')


if __name__ == '__main__':
    main(sys.argv[1:])
