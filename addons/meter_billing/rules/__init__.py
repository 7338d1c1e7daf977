# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""The rules of billing in plain Python (no ORM): they take and return
numbers, dates and files, are tested directly and could serve another
system.

- ``pricing``: tariffs applied to a period's usage (tiers, free quota,
  minimum and fixed charges, proration), money rounded as the bills are;
- ``amount_words``: an amount of money in Chinese capital numerals
  (大写金额) for the payment notices and receipts;
- ``billing_system``: the files exchanged with the existing billing system
  (收费系统): the XLSX exports of bills and payments, the history read
  from its exports.

Their ORM side: ``tariff.py`` and ``billing_run.py`` (pricing), ``bill.py``
and ``payment.py`` (reports), ``billing_system.py`` (export and history).
"""
