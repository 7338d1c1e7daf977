import os

from trytond.tests.test_tryton import load_doc_tests

from .tools import testdata


def load_tests(*args, **kwargs):
    # The evidence scenario reads the shared photos of real meters.
    skips = []
    if not os.path.isdir(os.path.join(testdata(), 'meter-photos')):
        skips.append('scenario_reading_evidence.rst')
    return load_doc_tests(__name__, __file__, *args, skips=skips, **kwargs)
