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


def field_round_setup(login, password, numbers, round_name="东1幢"):
    """The set-up script of a field phone test (Server(setup=...)): the
    east campus, building 东1幢 with a water meter of each number, the
    field user login/password of the east campus, and this month's round
    of the building for them, in route order; the counter's OCR off
    (meter_base's to test, and slow on 2 cores)"""
    return FIELD_ROUND_SETUP.replace('LOGIN', login).replace(
        'PASSWORD', password).replace('NUMBERS', repr(list(numbers))).replace(
        'ROUND_NAME', round_name)


FIELD_ROUND_SETUP = """
import datetime as dt
from decimal import Decimal
Campus = pool.get('meter.campus')
Location = pool.get('meter.location')
Meter = pool.get('meter.meter')
Configuration = pool.get('meter.configuration')
User = pool.get('res.user')
ModelData = pool.get('ir.model.data')
Round = pool.get('meter.field.round')
Date = pool.get('ir.date')
if 'ocr' in Configuration._fields:
    Configuration.write([Configuration(1)], {'ocr': False})
east = Campus(code='E', name="东校区")
east.save()
building = Location(name="东1幢", campus=east, kind='building')
building.save()
for number in NUMBERS:
    Meter(number=number, kind='water', campus=east, location=building,
        digits=6, decimals=0, multiplier=Decimal(1),
        initial_value=Decimal(100), reading_method='manual').save()
field, = User.create([{
            'login': 'LOGIN', 'name': "外线人员 (东校区)",
            'password': 'PASSWORD',
            'groups': [('add', [ModelData.get_id(
                            'meter_base', 'group_field_staff')])],
            'meter_campuses': [('add', [east.id])],
            }])
today = Date.today()
start = today.replace(day=1)
end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
round_, = Round.create([{'staff': field.id, 'campus': east.id,
            'name': "ROUND_NAME", 'start_date': start, 'end_date': end}])
Round.fill([round_], Meter.search(Round.meter_domain(east, building),
        order=Round.route_order()))
"""
