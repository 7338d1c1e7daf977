from . import pages, routes

__all__ = ['pages', 'routes']
