"""Run a function in a transaction of its own as the server does.

Singletons (the settings' first record) and sequences lock their table:
Tryton answers with a TransactionError that says which, and the server,
the cron and the worker start the transaction again with the lock taken.
Scripts of the tests and benchmarks that write outside a request do the
same here."""
from trytond.transaction import Transaction, TransactionError


def run_in_transaction(database, function, user=0):
    "Return function() run and committed in a transaction on database"
    extras = {}
    while True:
        with Transaction().start(database, user, **extras) as transaction:
            try:
                result = function()
            except TransactionError as error:
                transaction.rollback()
                error.fix(extras)
                continue
            transaction.commit()
            return result
