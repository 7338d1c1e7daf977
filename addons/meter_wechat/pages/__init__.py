"""The residents' pages, on the web layer of web.py, grouped by what
they serve: accounts and binding, readings and usage, paying, service
requests and information."""
from . import accounts, information, payments, readings, requests

__all__ = ['accounts', 'readings', 'payments', 'requests', 'information']
