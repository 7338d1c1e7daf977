"""A member of the field staff works a round without signal (离线抄表).

On a phone of 390×844 the field user opens their round of four meters
online (the service worker keeps the offline page, the round is kept in
IndexedDB), then the network goes (context.set_offline): they read three
meters with real photos, skip the fourth and report a fault at it, all
into the phone's queue; the page reloaded, then closed and opened again,
still shows all of it.  The network back, the queue is sent by itself:
exactly three readings, at the time they were taken on the phone, one
skip and one fault reported at the phone's time on the server.  The same
five submissions sent again (their keys) change nothing.
"""
import datetime as dt
import io
import os
import re
import sqlite3
import time
import unittest

from PIL import Image, ImageDraw
from playwright.sync_api import expect, sync_playwright

from .phone import PhoneMixin, field_round_setup
from .server import Server, launch_browser
from .test_wechat_phone import PHONE_UA

LOGIN, PASSWORD = 'field', 'field-demo'
NUMBERS = ['F-001', 'F-002', 'F-003', 'F-004']


def dial_photo(value, shade):
    "A JPEG of a meter's dial showing value"
    image = Image.new('RGB', (800, 600), (shade, shade, shade + 20))
    draw = ImageDraw.Draw(image)
    draw.rectangle((150, 250, 650, 350), fill=(10, 10, 10))
    draw.text((300, 290), '%06d' % value, fill=(255, 255, 255))
    data = io.BytesIO()
    image.save(data, 'JPEG', quality=90)
    return data.getvalue()


# Copy the queue aside (photos included) and put it back: the same
# submissions, with their keys, to send a second time
COPY_QUEUE = """async () => {
  const entries = await MeterOffline.queue();
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open('offline-test-copy', 1);
    request.onupgradeneeded = () => request.result.createObjectStore(
      'copy', {keyPath: 'key'});
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  await new Promise((resolve, reject) => {
    const transaction = db.transaction('copy', 'readwrite');
    entries.forEach(entry => transaction.objectStore('copy').put(entry));
    transaction.oncomplete = resolve;
    transaction.onerror = reject;
  });
  db.close();
  return entries.length;
}"""
RESEND = """async () => {
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open('offline-test-copy', 1);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const entries = await new Promise((resolve, reject) => {
    const request = db.transaction('copy').objectStore('copy').getAll();
    request.onsuccess = () => resolve(request.result);
    request.onerror = reject;
  });
  db.close();
  for (const entry of entries) {
    await MeterOffline.put('queue', entry);
  }
  const result = await MeterOffline.syncNow();
  return [entries.length, result.done, result.refused,
    (await MeterOffline.queue()).length];
}"""


RESEND_FAILING = RESEND.replace("""  return [entries.length, result.done, result.refused,
    (await MeterOffline.queue()).length];""", """  return [result.error, (await MeterOffline.queue()).length];""")


# The modules of the server (tests/browser/prepare.py activates them ahead)
MODULES = ['meter_field']


class FieldOfflineTestCase(PhoneMixin, unittest.TestCase):
    PAGES = 'field'

    @classmethod
    def setUpClass(cls):
        cls.server = Server(MODULES, name='browser_offline',
            setup=field_round_setup(LOGIN, PASSWORD, NUMBERS))
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

    def counts(self):
        readings, = self.query('SELECT COUNT(*) FROM meter_reading')[0]
        skipped, = self.query("SELECT COUNT(*) FROM meter_field_round_line "
            "WHERE state = 'skipped'")[0]
        faults, = self.query("SELECT COUNT(*) FROM meter_work_order "
            "WHERE kind = 'fault'")[0]
        return readings, skipped, faults

    def test_offline_round(self):
        "Read three meters and skip one without signal, then sync"
        page = self.phone(PHONE_UA)
        context = page.context
        try:
            self.open_first(page, self.url(), page.locator('#login'))
            page.locator('#login').fill(LOGIN)
            page.locator('#password').fill(PASSWORD)
            page.get_by_role('button', name="登录").click()
            expect(page.locator('.page__title')).to_have_text("业务中心")
            page.get_by_role('link', name="抄表任务").click()
            page.locator('.rounds a.round').first.click()
            expect(page.locator('.round-progress')).to_have_text('0/4')
            round_url = page.url
            # Online: the worker is installed (a page opened while it
            # installed may stay without it: the next one has it) and
            # controls the page, the round is kept
            page.evaluate('navigator.serviceWorker.ready.then(() => true)')
            page.reload()
            expect(page.locator('.round-progress')).to_have_text('0/4')
            page.wait_for_function(
                'navigator.serviceWorker.controller !== null')
            page.wait_for_function('document.querySelector('
                '"[data-offline-round]").dataset.kept === "1"')

            context.set_offline(True)
            lines = page.locator('.round-line')
            for index, value in enumerate([112, 245, 378]):
                lines.nth(index).locator('a.round-read, a.offline-read').click()
                expect(page.locator('#offline-reading-form')).to_be_visible()
                expect(page.locator('.page__title')).to_have_text(
                    "水表 " + NUMBERS[index])
                expect(page.locator('#offline-banner')).to_be_visible()
                if not index:
                    # Warned with the limits the round brought: lower
                    # than the last value (100), not a rollover
                    page.locator('#value').fill('50')
                    expect(page.locator('#reading-warning')).to_have_text(
                        '读数低于上次读数')
                page.locator('#value').fill(str(value))
                page.locator('#offline-photo').set_input_files(files=[{
                            'name': f'IMG_{index}.jpg',
                            'mimeType': 'image/jpeg',
                            'buffer': dial_photo(value, 120 + 20 * index)}])
                page.get_by_role('button', name="保存读数").click()
                expect(lines.nth(index)).to_have_class(
                    re.compile(r'\bqueued-read\b'))
            # The fourth: nobody home
            lines.nth(3).locator('a.offline-skip').click()
            expect(page.locator('.page__title')).to_have_text("未抄原因")
            page.get_by_text('用户不在').click()
            page.locator('#note').fill('敲门无人应答')
            page.get_by_role('button', name="提交").click()
            expect(lines.nth(3)).to_have_class(re.compile(r'\bqueued-skip\b'))
            expect(page.locator('.round-progress')).to_have_text('3/4')
            # A fault seen at the fourth meter
            page.goto(self.url('fault?meter=F-004'))
            expect(page.locator('.page__title')).to_have_text("故障上报")
            page.locator('#description').fill('表箱门锁坏，无法打开')
            page.get_by_role('button', name="保存上报").click()
            expect(page.locator('#offline-title')).to_have_text("离线抄表")
            page.goto(round_url)
            expect(page.locator('.round-progress')).to_have_text('3/4')
            queue = page.locator('#offline-queue')
            expect(queue.locator('.queue-count')).to_have_text('5')
            expect(queue.locator('.queue-entry')).to_have_count(5)

            # Reloaded, then closed and opened again: nothing lost
            page.reload()
            expect(page.locator('.round-progress')).to_have_text('3/4')
            expect(queue.locator('.queue-count')).to_have_text('5')
            page.close()
            page = context.new_page()
            page.on('pageerror', lambda e: self.errors.append(str(e)))
            page.goto(round_url)
            queue = page.locator('#offline-queue')
            lines = page.locator('.round-line')
            expect(page.locator('.round-progress')).to_have_text('3/4')
            expect(queue.locator('.queue-count')).to_have_text('5')
            self.assertEqual(self.counts(), (0, 0, 0))
            self.assertEqual(page.evaluate(COPY_QUEUE), 5)
            # Taken before the network came back
            time.sleep(2)
            online_at = dt.datetime.now(dt.timezone.utc).replace(
                tzinfo=None)

            context.set_offline(False)
            # Sent by itself; the page is then the server's again
            expect(page.locator('.queue-status')).to_have_text(
                '已同步 5 条记录', timeout=60000)
            expect(page.locator('.round-progress')).to_have_text('3/4')
            expect(page.locator('.round-skipped')).to_have_text('1')
            expect(page.locator('.skip-reason')).to_have_text(
                '用户不在：敲门无人应答')
            self.assertEqual(self.counts(), (3, 1, 1))
            # The fault reported at the phone's time, not the arrival's
            (description, submitted_at, key), = self.query(
                'SELECT description, submitted_at, idempotency_key FROM '
                'meter_work_order')
            if isinstance(submitted_at, str):
                submitted_at = dt.datetime.fromisoformat(submitted_at)
            self.assertEqual(description, '表箱门锁坏，无法打开')
            self.assertLess(submitted_at, online_at)
            self.assertGreater(submitted_at,
                online_at - dt.timedelta(minutes=10))
            self.assertTrue(key)
            rows = self.query('SELECT r.value, r.taken_at, r.photo_id, '
                'r.source, r.idempotency_key FROM meter_reading r '
                'ORDER BY r.id')
            self.assertEqual([int(float(r[0].decode() if isinstance(
                                r[0], bytes) else r[0])) for r in rows],
                [112, 245, 378])
            for value, taken_at, photo_id, source, key in rows:
                if isinstance(taken_at, str):
                    taken_at = dt.datetime.fromisoformat(taken_at)
                self.assertLess(taken_at, online_at)
                self.assertGreater(taken_at,
                    online_at - dt.timedelta(minutes=10))
                self.assertTrue(photo_id)
                self.assertEqual(source, 'field')
                self.assertTrue(key)

            # The same again through a proxy that fails: the server's
            # error said as such (not an expired login), nothing lost
            page.route('**/sync/**', lambda route: route.fulfill(
                    status=502, content_type='text/html',
                    body='<html><body>Bad Gateway</body></html>'))
            error, left = page.evaluate(RESEND_FAILING)
            self.assertIn('HTTP 502', error)
            self.assertNotIn('登录', error)
            self.assertEqual(left, 5)
            page.unroute('**/sync/**')
            # The same again: answered, nothing new
            self.assertEqual(page.evaluate(RESEND), [5, 5, 0, 0])
            self.assertEqual(self.counts(), (3, 1, 1))
        except Exception:
            page.screenshot(path=self.screenshot, full_page=True)
            raise
        self.assertEqual(self.errors, [])
        self.assertEqual(self.outside, [])
