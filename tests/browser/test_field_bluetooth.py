"""蓝牙抄表 on the phone (#14): a real trytond serves the field pages to
Debian's Chromium in a phone's viewport (390×844), driven by Playwright.

Chromium has no Bluetooth adapter here, so `navigator.bluetooth` is
replaced before the page loads (add_init_script) by a fake BLE serial
bridge speaking the Nordic UART Service: it records the frame the page
writes and notifies, in chunks of 20 bytes as a bridge does, bytes made
in the test by meter_devices' real CJ/T 188 encoder — the meter's reply,
another meter's, garbage or nothing.  The replies go to the phone's one
queue (offline.js) and are sent at once, or when the network is back;
the server decodes them; the reading appears on the meter's card with
source 蓝牙 and its frame is on the reading's form in sao.  Without
network the page opens from the service worker, with the request frame
kept with the round.  No request may leave the loopback.
"""
import datetime as dt
import json
import os
import re
import sqlite3
import unittest
import uuid
from decimal import Decimal

from playwright.sync_api import expect, sync_playwright

from trytond.modules.meter_devices.protocols import cjt188

from .phone import PhoneMixin
from .sao import open_menu
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
field, = User.create([{
            'login': 'LOGIN', 'name': "外线人员 (东校区)",
            'password': 'PASSWORD',
            'groups': [('add', [ModelData.get_id(
                            'meter_base', 'group_field_staff')])],
            'meter_campuses': [('add', [east.id])],
            }])
Round = pool.get('meter.field.round')
Date = pool.get('ir.date')
start = Date.today().replace(day=1)
end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
round_, = Round.create([{'staff': field.id, 'campus': east.id,
            'name': "东区蓝牙表", 'start_date': start, 'end_date': end}])
Round.fill([round_], [meter])
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


# Copy the queue aside and put it back: the same submissions, with their
# keys, to send a second time
COPY_QUEUE = """async () => {
  window.__copy = await MeterOffline.queue();
  sessionStorage.setItem('copy', JSON.stringify(window.__copy));
  return window.__copy.length;
}"""
RESEND = """async () => {
  const entries = JSON.parse(sessionStorage.getItem('copy'));
  for (const entry of entries) {
    await MeterOffline.put('queue', Object.assign(entry,
      {state: 'pending', error: ''}));
  }
  const result = await MeterOffline.syncNow();
  return [entries.length, result.done, result.refused,
    (await MeterOffline.queue()).length];
}"""
QUEUE = """async () => (await MeterOffline.queue()).map(
  (e) => [e.kind, e.state, e.label, e.fields.reply || '', e.error])"""


def reply(address=ADDRESS, flow='123.45'):
    "The meter's real CJ/T 188 reply to a 901F read, with its preamble"
    return cjt188.encode_reply(address, flow=Decimal(flow),
        clock=dt.datetime(2026, 12, 6, 10, 30), preamble=True).hex().upper()


# The modules of the server (tests/browser/prepare.py activates them ahead)
MODULES = ['meter_field']


class FieldBluetoothTestCase(PhoneMixin, unittest.TestCase):
    PAGES = 'field'

    @classmethod
    def setUpClass(cls):
        cls.server = Server(MODULES, name='browser_bluetooth',
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

    def query(self, sql):
        "The rows of sql on the server's database"
        server = self.server
        if server.postgresql:
            import psycopg
            with psycopg.connect(server.env['TRYTOND_DATABASE__URI']
                    + server.name) as connection:
                return connection.execute(sql).fetchall()
        connection = sqlite3.connect(
            os.path.join(server.directory, server.name + '.sqlite'))
        try:
            return connection.execute(sql).fetchall()
        finally:
            connection.close()

    def bluetooth_readings(self):
        "The readings over Bluetooth on the server: key, received, frame"
        return self.query("SELECT idempotency_key, bluetooth_received, "
            "bluetooth_frame FROM meter_reading WHERE source = 'bluetooth' "
            "ORDER BY id")

    def log_in(self, script, url=''):
        "A phone logged in on url, its Bluetooth set by script"
        page = self.phone(PHONE_UA)
        page.add_init_script(script)
        self.open_first(page, self.url(url), page.locator('#login'))
        page.locator('#login').fill(LOGIN)
        page.locator('#password').fill(PASSWORD)
        page.get_by_role('button', name="登录").click()
        return page

    def bluetooth_page(self, script):
        "A logged-in phone on the meter's 蓝牙抄表 page, its Bluetooth set"
        page = self.log_in(script, 'm/E00021')
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
            # Sent at once: nothing left in the phone's queue
            self.assertEqual(page.evaluate(QUEUE), [])
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
            # Seen at once: not kept in the queue
            self.assertEqual(page.evaluate(QUEUE), [])
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
        """The round kept online, the network gone: 蓝牙抄表 opens from the
        service worker with the request kept with the round; the meter's
        reply and another meter's wait in the one queue, shown on the home
        page; online again they are sent: one reading with its frames, the
        other refused with its reason and kept in sight; a second sync
        changes nothing"""
        page = self.log_in(self.fake(reply(flow='130.5')))
        context = page.context
        good, other = reply(flow='130.5'), reply(address=OTHER, flow='777.77')
        before = self.bluetooth_readings()
        try:
            expect(page.locator('.page__title')).to_have_text("业务中心")
            page.get_by_role('link', name="抄表任务").click()
            page.locator('.rounds a.round').first.click()
            expect(page.locator('.round-progress')).to_have_text('0/1')
            page.evaluate('navigator.serviceWorker.ready.then(() => true)')
            page.reload()
            page.wait_for_function(
                'navigator.serviceWorker.controller !== null')
            page.wait_for_function('document.querySelector('
                '"[data-offline-round]").dataset.kept === "1"')

            context.set_offline(True)
            page.locator('.round-line').first.locator(
                'a.round-read, a.offline-read').click()
            expect(page.locator('#offline-reading-form')).to_be_visible()
            page.get_by_role('link', name="蓝牙抄表").click()
            # The page of the worker, with the round's request
            expect(page.locator('.page__title')).to_have_text(
                "蓝牙抄表 · E00021")
            expect(page.locator('#offline-banner')).to_be_visible()
            read = page.get_by_role('button', name="连接蓝牙并读表")
            read.click()
            expect(page.locator('.bt-error')).to_contain_text('网络不可用')
            self.assertEqual(page.evaluate('window.__bt.written'),
                cjt188.read_request(ADDRESS, preamble=True).hex().upper())
            # A reply from another meter's address: queued as well, the
            # server will judge it
            page.evaluate(f'window.__bt.answer = "{other}"')
            read.click()
            expect(page.locator('#offline-queue .queue-count')).to_have_text(
                '2')

            # The home page without network: the queue with both
            page.goto(self.url())
            queue = page.locator('#offline-queue')
            expect(queue.locator('.queue-entry')).to_have_count(2)
            expect(queue.locator('.queue-entry').first).to_contain_text(
                '蓝牙读数 · E00021')
            self.assertEqual([e[:4] for e in page.evaluate(QUEUE)], [
                    ['bluetooth', 'pending', 'E00021', good],
                    ['bluetooth', 'pending', 'E00021', other]])
            self.assertEqual(page.evaluate(COPY_QUEUE), 2)
            self.assertEqual(self.bluetooth_readings(), before)

            context.set_offline(False)
            # Sent by itself; the refused one stays, with its reason
            expect(page.locator('.queue-status')).to_have_text(
                '已同步 1 条记录', timeout=60000)
            expect(page.locator('.page__title')).to_have_text("业务中心")
            entry = queue.locator('.queue-entry')
            expect(entry).to_have_count(1)
            expect(entry.locator('.queue-error')).to_contain_text(
                f'回复来自另一块表（地址 {OTHER}）')
            expect(entry.get_by_role('button', name="删除")).to_be_visible()
            after = self.bluetooth_readings()
            self.assertEqual(len(after), len(before) + 1)
            key, received, frame = after[-1]
            self.assertEqual((received, frame), (good, good[4:]))
            self.assertEqual(page.evaluate(QUEUE)[0][:2],
                ['bluetooth', 'refused'])

            # Both sent again with their keys: nothing new, the refused
            # one refused again and kept
            self.assertEqual(page.evaluate(RESEND), [2, 1, 1, 1])
            self.assertEqual(self.bluetooth_readings(), after)
            page.reload()
            expect(queue.locator('.queue-entry.refused')).to_have_count(1)
            # The reading is the meter's, on its card
            expect(self.card_readings(page)).to_contain_text('130.5')
        except Exception:
            page.screenshot(path=self.screenshot, full_page=True)
            raise
        self.assertEqual(self.errors, [])
        self.assertEqual(self.outside, [])

    def test_old_queue_moved(self):
        """A reply a phone kept in the old queue of the Bluetooth page
        (localStorage) moves to the one queue, once, and is sent with its
        key"""
        page = self.log_in(NO_BLUETOOTH)
        old_key = str(uuid.uuid4())
        taken_at = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))
            ).replace(microsecond=0) - dt.timedelta(minutes=20)
        old = reply(flow='140.25')
        try:
            expect(page.locator('.page__title')).to_have_text("业务中心")
            page.evaluate('navigator.serviceWorker.ready.then(() => true)')
            page.reload()
            page.wait_for_function(
                'navigator.serviceWorker.controller !== null')
            page.context.set_offline(True)
            page.evaluate("""(entry) => localStorage.setItem(
                'meterField.bluetooth.queue', JSON.stringify([entry]))""", {
                    'post': self.url('m/E00021/bluetooth'),
                    'meter': 'E00021', 'idempotency_key': old_key,
                    'taken_at': taken_at.isoformat(), 'reply': old})
            page.reload()
            queue = page.locator('#offline-queue')
            expect(queue.locator('.queue-entry')).to_have_count(1)
            self.assertEqual(page.evaluate(
                    "localStorage.getItem('meterField.bluetooth.queue')"),
                None)
            page.context.set_offline(False)
            expect(page.locator('.queue-status')).to_have_text(
                '已同步 1 条记录', timeout=60000)
            rows = self.query("SELECT bluetooth_received, taken_at FROM "
                "meter_reading WHERE idempotency_key = '%s'" % old_key)
            self.assertEqual(len(rows), 1)
            self.assertEqual(rows[0][0], old)
            self.assertEqual(page.evaluate(QUEUE), [])
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
            open_menu(page, "计量管理", "抄表读数")
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
