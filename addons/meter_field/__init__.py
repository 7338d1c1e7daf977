from . import onsite, pages

__all__ = ['onsite', 'pages']
