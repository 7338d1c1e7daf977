"""The local fakes of WeChat's API and of the SMS gateway, which live in
the checkout's tests/fakes for the browser tests and benchmarks too."""
import sys
from pathlib import Path

try:
    from tests.fakes.sms_api import FakeAliyunSms, reference_signature
    from tests.fakes.wechat_api import FakeWeChatApi
except ImportError:
    # Run from outside the checkout: put it first on the path and forget
    # the other "tests" package found instead
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    sys.modules.pop('tests', None)
    from tests.fakes.sms_api import FakeAliyunSms, reference_signature
    from tests.fakes.wechat_api import FakeWeChatApi

__all__ = ['FakeAliyunSms', 'FakeWeChatApi', 'reference_signature']
