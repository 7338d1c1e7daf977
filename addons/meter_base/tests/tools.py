import os


def testdata():
    "Return the folder of the shared test data (photos with readings)"
    root = os.path.dirname(os.path.dirname(os.path.dirname(
                os.path.dirname(os.path.abspath(__file__)))))
    return os.environ.get('METER_TESTDATA') or os.path.join(
        os.path.dirname(root), 'shared', 'testdata')
