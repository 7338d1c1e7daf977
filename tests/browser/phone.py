"""What the phone-page browser tests share: a phone of 390×844 that can
reach nothing but the loopback, the first page opened patiently, and a
screenshot and the server's log kept when a test fails."""
import os
import tempfile

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect


class PhoneMixin:
    "Mixed into a TestCase with `server` and `browser` set up"
    # The pages under /<database>/<PAGES>/
    PAGES = None

    def stand_in(self, route, url, user_agent):
        """Answer a request for an address outside the loopback; tell if
        answered (the others are aborted and counted in self.outside)"""
        return False

    def phone(self, user_agent):
        "A new page of a phone that can reach nothing but the loopback"
        context = self.browser.new_context(
            viewport={'width': 390, 'height': 844}, device_scale_factor=3,
            is_mobile=True, has_touch=True, locale='zh-CN',
            timezone_id='Asia/Shanghai', user_agent=user_agent)
        self.addCleanup(context.close)
        self.outside = []

        def route(route):
            url = route.request.url
            if url.startswith(('http://127.0.0.1:', 'data:', 'blob:')):
                route.continue_()
            elif not self.stand_in(route, url, user_agent):
                self.outside.append(url)
                route.abort()
        context.route('**/*', route)
        page = context.new_page()
        self.errors = []
        page.on('pageerror', lambda e: self.errors.append(str(e)))
        return page

    def run(self, result=None):
        "Keep a screenshot of the page when a test fails"
        failures = len(result.failures) + len(result.errors) if result else 0
        result = super().run(result)
        if result and len(result.failures) + len(result.errors) > failures:
            print(f"screenshot: {self.screenshot}")
            print(self.server.read_log())
        return result

    @property
    def screenshot(self):
        return os.path.join(tempfile.gettempdir(),
            f'{self.PAGES}-failure-{self.id().rsplit(".", 1)[-1]}.png')

    def url(self, page=''):
        return f'{self.server.url}{self.server.name}/{self.PAGES}/{page}'

    def open_first(self, page, url, ready):
        """Open the first page; a freshly started server may answer the
        very first request with an error while its pool loads."""
        for attempt in range(3):
            try:
                response = page.goto(url)
                if response and response.ok:
                    expect(ready).to_be_visible(timeout=10000)
                    return
            except (AssertionError, PlaywrightTimeoutError):
                pass
        page.goto(url)
        expect(ready).to_be_visible()
