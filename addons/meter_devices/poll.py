# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""Poll collectors from the command line with a progress bar::

    python -m trytond.modules.meter_devices.poll -d DB -c trytond.conf \\
        [--collector CODE ...]

Without --collector every active collector is polled.  The exit status is
1 when a collector could not be polled at all (its port failed).
"""
import argparse
import sys

__all__ = ['main']


def _parser():
    parser = argparse.ArgumentParser(
        prog='python -m trytond.modules.meter_devices.poll',
        description="Poll the meters of collectors over their serial bus.")
    parser.add_argument('-c', '--config', dest='configfile',
        help="the trytond configuration file")
    parser.add_argument('-d', '--database', dest='database', required=True,
        help="the database name")
    parser.add_argument('--collector', dest='collectors', action='append',
        metavar='CODE', help="the code of a collector to poll (repeatable)")
    parser.add_argument('--user', default='admin',
        help="the login of the user polling (default: admin)")
    parser.add_argument('--no-progress', dest='progress',
        action='store_false', help="do not show the progress bar")
    return parser


def main(argv=None):
    options = _parser().parse_args(argv)
    from trytond import config
    config.update_etc(options.configfile)

    from tqdm import tqdm

    from trytond.pool import Pool
    from trytond.transaction import Transaction

    database = options.database
    with Transaction().start(database, 0, readonly=True):
        Pool(database).init()
    pool = Pool(database)
    with Transaction().start(database, 0) as transaction:
        User = pool.get('res.user')
        Collector = pool.get('meter.collector')
        user, = User.search([('login', '=', options.user)], limit=1) or [
            None]
        if user is None:
            print("Unknown user %s" % options.user, file=sys.stderr)
            return 2
        with transaction.set_user(user.id), \
                transaction.set_context(User.get_preferences(
                        context_only=True)):
            domain = []
            if options.collectors:
                domain = [('code', 'in', options.collectors)]
            collectors = Collector.search(domain)
            missing = set(options.collectors or []) - {
                c.code for c in collectors}
            if missing:
                print("Unknown collector(s): %s" % ', '.join(sorted(missing)),
                    file=sys.stderr)
                return 2
            status = 0
            # Each collector is committed on its own: a failure does not
            # undo the rounds of the others.
            transaction.commit()
            for collector in collectors:
                with tqdm(total=len(collector.poll_requests()),
                        desc=collector.code, unit='meter',
                        disable=not options.progress) as bar:
                    failures = []

                    def progress(done, total, result):
                        if not result.ok:
                            failures.append(result.address)
                        bar.set_postfix(failed=len(failures), refresh=False)
                        bar.update(1)
                    try:
                        round_, = Collector.poll_collectors(
                            [collector], progress=progress)
                    except Exception as exception:
                        transaction.rollback()
                        print("%s: failed: %s" % (collector.code, exception),
                            file=sys.stderr)
                        status = 1
                        continue
                print("%s: %s read, %s failed%s" % (
                        collector.code, round_.succeeded, round_.failed,
                        ' (%s)' % round_.error if round_.error else ''))
                if round_.state == 'failed':
                    status = 1
                transaction.commit()
    return status


if __name__ == '__main__':
    sys.exit(main())
