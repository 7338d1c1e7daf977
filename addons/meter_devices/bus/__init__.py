# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""The serial bus of the collectors, in plain Python (no trytond import).

- ``polling``: read a list of meters on one bus (a device path, a
  ``socket://`` RS-485 to Ethernet converter or an ``rfc2217://`` port
  server) with the codecs of ``protocols``; the ORM side is
  ``collector.py`` (collectors, polling rounds and their results), the
  command line ``poll.py``.
- ``simulator``: meters answering on a pseudo-terminal or a TCP port, for
  the tests and the demo.
"""
