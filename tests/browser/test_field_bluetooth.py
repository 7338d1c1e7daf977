"""蓝牙抄表 on the phone (#14): a real trytond serves the field pages to
Debian's Chromium in a phone's viewport (390×844), driven by Playwright.

Chromium has no Bluetooth adapter here, so `navigator.bluetooth` is
replaced before the page loads (add_init_script) by a fake BLE serial
bridge speaking the Nordic UART Service: it records the frame the page
writes and notifies, in chunks of 20 bytes as a bridge does, bytes made
in the test by meter_devices' real CJ/T 188 encoder — the meter's reply,
another meter's, garbage or nothing.  The server decodes them; the
reading appears on the meter's card with source 蓝牙 and its frame is on
the reading's form in sao.  No request may leave the loopback.
"""
import datetime as dt
import json
import re
import unittest
from decimal import Decimal

from playwright.sync_api import expect, sync_playwright

from trytond.modules.meter_devices.protocols import cjt188

from .phone import PhoneMixin
from .server import PASSWORD as ADMIN_PASSWORD
from .server import Server, launch_browser, sao_login
from .test_wechat_phone import PHONE_UA

LOGIN, PASSWORD = 'field', 'field-demo'
ADDRESS = '00000020261214'
OTHER = '00000020261299'

SETUP = """
import datetime as dt
from decimal import Decimal
Campus = pool.get('meter.campus')
Account = pool.get('meter.account')
Meter = pool.get('meter.meter')
Reading = pool.get('meter.reading')
Configuration = pool.get('meter.configuration')
Bluetooth = pool.get('meter.field.bluetooth.configuration')
User = pool.get('res.user')
ModelData = pool.get('ir.model.data')
if 'ocr' in Configuration._fields:
    Configuration.write([Configuration(1)], {'ocr': False})
bluetooth = Bluetooth(1)
bluetooth.reply_timeout = 2
bluetooth.save()
east = Campus(code='E', name="东校区")
east.save()
account = Account(number='AE00021', name="住户E00021", category='resident',
    campus=east)
account.save()
meter = Meter(number='E00021', barcode='6900000000217', kind='water',
    account=account, campus=east, digits=6, decimals=0,
    multiplier=Decimal(1), initial_value=Decimal(0), reading_method='manual',
    protocol='cjt188_2004', comm_address='20261214')
meter.save()
Reading.create([{'meter': meter.id, 'value': Decimal(100), 'source': 'field',
            'taken_at': dt.datetime.now() - dt.timedelta(days=30)}])
User.create([{
            'login': 'LOGIN', 'name': "外线人员 (东校区)",
            'password': 'PASSWORD',
            'groups': [('add', [ModelData.get_id(
                            'meter_base', 'group_field_staff')])],
            'meter_campuses': [('add', [east.id])],
            }])
""".replace('LOGIN', LOGIN).replace('PASSWORD', PASSWORD)

# The fake bridge: window.__bt.answer is the hex the meter sends back
# once the whole request is written ('' for silence); what the page
# wrote is kept in window.__bt.written.
FAKE_BLUETOOTH = """
(() => {
  const NUS = '6e400001-b5a3-f393-e0a9-e50e24dcca9e';
  const RX = '6e400002-b5a3-f393-e0a9-e50e24dcca9e';
  const TX = '6e400003-b5a3-f393-e0a9-e50e24dcca9e';
  const state = window.__bt = {answer: ANSWER, written: '', asked: null};
  const hex = (bytes) => Array.from(bytes, (b) =>
    b.toString(16).padStart(2, '0')).join('').toUpperCase();
  class Characteristic extends EventTarget {
    constructor(uuid) { super(); this.uuid = uuid; this.value = null; }
    startNotifications() { return Promise.resolve(this); }
    writeValueWithoutResponse(data) {
      state.written += hex(new Uint8Array(data.buffer || data));
      if (state.written.endsWith('16') && state.answer) {
        const bytes = state.answer.match(/../g).map((h) => parseInt(h, 16));
        let delay = 30;
        for (let i = 0; i < bytes.length; i += 20) {
          const chunk = Uint8Array.from(bytes.slice(i, i + 20));
          setTimeout(() => {
            tx.value = new DataView(chunk.buffer);
            tx.dispatchEvent(new Event('characteristicvaluechanged'));
          }, delay);
          delay += 30;
        }
      }
      return Promise.resolve();
    }
  }
  const rx = new Characteristic(RX);
  const tx = new Characteristic(TX);
  const service = {
    uuid: NUS,
    getCharacteristic: (uuid) => uuid === RX ? Promise.resolve(rx) :
      uuid === TX ? Promise.resolve(tx) :
      Promise.reject(new DOMException('No such characteristic', 'NotFoundError'))
  };
  const gatt = {
    connected: false,
    connect() { this.connected = true; return Promise.resolve(this); },
    disconnect() { this.connected = false; },
    getPrimaryService: (uuid) => uuid === NUS ? Promise.resolve(service) :
      Promise.reject(new DOMException('No such service', 'NotFoundError'))
  };
  const device = {name: 'LoRa-BLE', gatt: gatt};
  Object.defineProperty(navigator, 'bluetooth', {configurable: true, value: {
    requestDevice(options) {
      state.asked = options;
      return Promise.resolve(device);
    }
  }});
})();
"""
NO_BLUETOOTH = """
Object.defineProperty(navigator, 'bluetooth', {configurable: true,
  value: undefined});
"""


def reply(address=ADDRESS, flow='123.45'):
    "The meter's real CJ/T 188 reply to a 901F read, with its preamble"
    return cjt188.encode_reply(address, flow=Decimal(flow),
        clock=dt.datetime(2026, 12, 6, 10, 30), preamble=True).hex().upper()


class FieldBluetoothTestCase(PhoneMixin, unittest.TestCase):
    PAGES = 'field'

    @classmethod
    def setUpClass(cls):
        cls.server = Server(['meter_field'], name='browser_bluetooth',
            setup=SETUP)
        try:
            cls.server.start()
            cls.playwright = sync_playwright().start()
            cls.browser = launch_browser(cls.playwright)
        except Exception:
            cls.server.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.browser.close()
        cls.playwright.stop()
        cls.server.stop()

    def bluetooth_page(self, script):
        "A logged-in phone on the meter's 蓝牙抄表 page, its Bluetooth set"
        page = self.phone(PHONE_UA)
        page.add_init_script(script)
        self.open_first(page, self.url('m/E00021'), page.locator('#login'))
        page.locator('#login').fill(LOGIN)
        page.locator('#password').fill(PASSWORD)
        page.get_by_role('button', name="登录").click()
        expect(page.locator('.page__title')).to_have_text("水表 E00021")
        page.get_by_role('link', name="蓝牙抄表").click()
        expect(page.locator('.page__title')).to_have_text(
            "蓝牙抄表 · E00021")
        return page

    def fake(self, answer):
        return FAKE_BLUETOOTH.replace('ANSWER', json.dumps(answer))

    def card_readings(self, page):
        page.goto(self.url('m/E00021'))
        return page.locator('.readings')

    def test_read(self):
        """The meter's reply becomes a reading of source 蓝牙; its frame
        is on the reading's form in sao"""
        page = self.bluetooth_page(self.fake(reply()))
        try:
            read = page.get_by_role('button', name="连接蓝牙并读表")
            self.assertGreaterEqual(read.bounding_box()['height'], 48)
            read.click()
            expect(page.locator('.bt-value')).to_have_text('123.45')
            expect(page.locator('.bt-error')).to_be_hidden()
            state = page.evaluate('window.__bt')
            # The server's request, written as it is, to the Nordic UART
            self.assertEqual(state['written'], cjt188.read_request(
                    ADDRESS, preamble=True).hex().upper())
            services = [f['services'][0] for f in state['asked']['filters']]
            self.assertIn('6e400001-b5a3-f393-e0a9-e50e24dcca9e', services)
            self.assertEqual(page.evaluate(
                    "localStorage.getItem('meterField.bluetooth.queue')"),
                '[]')
            page.locator('.bt-reading').click()
            expect(page.locator('.reading-value')).to_have_text(
                re.compile(r'^123\.450?$'))
            reading = self.card_readings(page).locator('.reading').filter(
                has_text='123.45')
            expect(reading).to_have_count(1)
            expect(reading.locator('.reading-source')).to_have_text('蓝牙')
        except Exception:
            page.screenshot(path=self.screenshot, full_page=True)
            raise
        self.assertEqual(self.errors, [])
        self.assertEqual(self.outside, [])
        self.check_in_sao()

    def test_garbage(self):
        "Garbage is refused with its reason and stores nothing"
        page = self.bluetooth_page(self.fake('13375EED0042' * 8))
        try:
            before = self.card_readings(page).text_content()
            page.go_back()
            page.get_by_role('button', name="连接蓝牙并读表").click()
            expect(page.locator('.bt-error')).to_contain_text(
                '表计回复不是完整的数据帧')
            expect(page.locator('.bt-result')).to_be_hidden()
            expect(self.card_readings(page)).to_have_text(before)
        except Exception:
            page.screenshot(path=self.screenshot, full_page=True)
            raise
        self.assertEqual(self.errors, [])

    def test_other_meter(self):
        "A valid reply of another address is refused, naming it"
        page = self.bluetooth_page(
            self.fake(reply(address=OTHER, flow='777.77')))
        try:
            page.get_by_role('button', name="连接蓝牙并读表").click()
            expect(page.locator('.bt-error')).to_contain_text(
                f'回复来自另一块表（地址 {OTHER}）')
            expect(self.card_readings(page)).not_to_contain_text('777.77')
        except Exception:
            page.screenshot(path=self.screenshot, full_page=True)
            raise
        self.assertEqual(self.errors, [])

    def test_silent_meter(self):
        "A meter that does not answer is said so"
        page = self.bluetooth_page(self.fake(''))
        try:
            page.get_by_role('button', name="连接蓝牙并读表").click()
            expect(page.locator('.bt-error')).to_contain_text('表计未应答')
            self.assertTrue(page.evaluate('window.__bt.written'))
        except Exception:
            page.screenshot(path=self.screenshot, full_page=True)
            raise
        self.assertEqual(self.errors, [])

    def test_offline(self):
        "Read without network, the reply waits and is sent once online"
        page = self.bluetooth_page(self.fake(reply(flow='130.5')))
        try:
            page.context.set_offline(True)
            page.get_by_role('button', name="连接蓝牙并读表").click()
            expect(page.locator('.bt-error')).to_contain_text('网络不可用')
            expect(page.locator('.bt-queue')).to_have_text(
                '待提交的蓝牙读数：1')
            page.context.set_offline(False)
            page.reload()
            expect(page.locator('.bt-value')).to_have_text('130.5')
            expect(page.locator('.bt-queue')).to_be_hidden()
            expect(self.card_readings(page)).to_contain_text('130.5')
        except Exception:
            page.screenshot(path=self.screenshot, full_page=True)
            raise
        self.assertEqual(self.errors, [])

    def test_no_bluetooth(self):
        "Without Web Bluetooth the page says so and offers the photo"
        page = self.bluetooth_page(NO_BLUETOOTH)
        try:
            expect(page.locator('.bt-error')).to_contain_text(
                '此浏览器不支持蓝牙抄表')
            expect(page.get_by_role('button', name="连接蓝牙并读表")
                ).to_be_hidden()
            page.get_by_role('link', name="改用拍照抄表").click()
            expect(page.locator('#reading-form')).to_be_visible()
        except Exception:
            page.screenshot(path=self.screenshot, full_page=True)
            raise
        self.assertEqual(self.errors, [])

    def check_in_sao(self):
        "The admin sees the reading's frame on its form in sao"
        page = self.browser.new_page(
            viewport={'width': 1400, 'height': 900}, locale='zh-CN')
        self.addCleanup(page.close)
        errors = []
        page.on('pageerror', lambda e: errors.append(str(e)))
        try:
            sao_login(page, self.server.url, self.server.name, 'admin',
                ADMIN_PASSWORD)
            expect(page.locator('.treeview')).to_contain_text("计量管理")
            for name in ["计量管理"]:
                page.locator(
                    f'.treeview div.column-char[title="{name}"]').click()
            page.dblclick('.treeview div.column-char[title="抄表读数"]')
            rows = page.locator('#tabcontent > .tab-pane.active tbody tr')
            row = rows.filter(has_text='123.45')
            expect(row).to_have_count(1)
            row.dblclick()
            form = page.locator('#tabcontent > .tab-pane.active')
            form.get_by_role('tab', name='蓝牙', exact=True).click()
            frame = reply()[4:]
            expect(form.locator('input[name="bluetooth_frame"]')
                ).to_have_value(frame)
            expect(form.locator('input[name="bluetooth_address"]')
                ).to_have_value(ADDRESS)
        except Exception:
            page.screenshot(path=self.screenshot.replace(
                    '.png', '-sao.png'), full_page=True)
            raise
        self.assertEqual(errors, [])


if __name__ == '__main__':
    unittest.main()
