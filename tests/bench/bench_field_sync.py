"""Benchmark the sync of a phone's queue: 200 readings with 12 MP photos

Starts `trytond` on PostgreSQL (TRYTOND_DATABASE__URI, else a throwaway
cluster) with the task queue on (`[queue] worker`, no worker running: the
evidence checks and the OCR of the photos wait in the queue, untimed), a
field user and their round of 200 meters, logs in to the field pages over
loopback and sends what a phone's queue sends (offline.js): 200
submissions to sync/reading one after the other, each a 4000×3000 JPEG
as the camera wrote it (EXIF intact), its idempotency key and the time it
was taken.  Then sends the first 20 again, which must create nothing.
Prints on stdout::

    BENCH field_sync_200_readings_s=<seconds>     (goal: under 60 s)
    BENCH field_sync_photo_mb=<size of one photo>
    BENCH field_sync_replay_20_s=<seconds for 20 sent again>
"""
import datetime as dt
import io
import os
import re
import sys
import time
import uuid

import requests
from PIL import Image, ImageDraw

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, 'tests'))
sys.path.insert(0, REPO)

from pgcluster import postgresql  # noqa: E402

READINGS = int(os.environ.get('BENCH_SYNC_READINGS', 200))
PHOTOS = 8
LOGIN, PASSWORD = 'field', 'field-bench'
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ZONE = dt.timezone(dt.timedelta(hours=8))


def photo(index, taken):
    """A 12 MP JPEG as a phone camera writes it: noise for the texture of
    a real scene, a dial, and EXIF with the time it was taken"""
    image = Image.effect_noise((2000, 1500), 24 + index).convert('RGB')
    image = image.resize((4000, 3000), Image.BILINEAR)
    draw = ImageDraw.Draw(image)
    draw.rectangle((1200, 1300, 2800, 1700), fill=(15, 15, 15))
    draw.text((1800, 1480), '%06d' % (1000 + index), fill=(255, 255, 255))
    exif = Image.Exif()
    exif[0x010F] = 'BenchPhone'  # Make
    exif[0x0110] = 'Model 12MP'  # Model
    exif[0x0132] = taken.strftime('%Y:%m:%d %H:%M:%S')
    exif.get_ifd(0x8769)[0x9003] = taken.strftime('%Y:%m:%d %H:%M:%S')
    data = io.BytesIO()
    image.save(data, 'JPEG', quality=92, exif=exif.tobytes())
    return data.getvalue()


def main():
    from browser.phone import field_round_setup
    from browser.server import Server
    numbers = ['S-%04d' % i for i in range(READINGS)]
    with postgresql():
        server = Server(['meter_field'], name='bench_field_sync',
            setup=field_round_setup(LOGIN, PASSWORD, numbers, "同步测试"),
            env={'TRYTOND_QUEUE__WORKER': 'True'})
        server.start()
        try:
            run(server, numbers)
        finally:
            server.stop()


def run(server, numbers):
    import psycopg
    base = f'{server.url}{server.name}/field/'
    now = dt.datetime.now(ZONE).replace(microsecond=0)
    taken = [now - dt.timedelta(minutes=READINGS - i) for i in
        range(READINGS)]
    photos = [photo(i, taken[i]) for i in range(PHOTOS)]
    session = requests.Session()
    for attempt in range(5):
        response = session.get(base + 'login')
        if response.ok:
            break
        time.sleep(1)
    token = CSRF.search(response.text).group(1)
    response = session.post(base + 'login', data={'csrf_token': token,
            'login': LOGIN, 'password': PASSWORD, 'next': ''},
        allow_redirects=False)
    assert response.status_code == 302, response.text
    token = CSRF.search(session.get(base).text).group(1)

    def send(index, key):
        response = session.post(base + 'sync/reading', data={
                'idempotency_key': key, 'taken_at': taken[index].isoformat(),
                'meter': numbers[index], 'value': str(1000 + index)},
            files={'photo': ('IMG_%04d.jpg' % index, photos[index % PHOTOS],
                    'image/jpeg')},
            headers={'X-CSRF-Token': token, 'Accept': 'application/json'})
        assert response.status_code == 200, response.text
        return response.json()

    keys = [str(uuid.uuid4()) for _ in numbers]
    start = time.perf_counter()
    answers = [send(i, keys[i]) for i in range(READINGS)]
    elapsed = time.perf_counter() - start
    assert not any(a['replayed'] for a in answers)
    start = time.perf_counter()
    replays = [send(i, keys[i]) for i in range(20)]
    replay_s = time.perf_counter() - start
    assert all(a['replayed'] for a in replays)
    assert [a['id'] for a in replays] == [a['id'] for a in answers[:20]]

    with psycopg.connect(server.env['TRYTOND_DATABASE__URI']
            + server.name) as connection:
        readings, = connection.execute(
            'SELECT COUNT(*) FROM meter_reading').fetchone()
        with_photo, = connection.execute('SELECT COUNT(*) FROM '
            'meter_reading WHERE photo_id IS NOT NULL').fetchone()
        queued, = connection.execute(
            'SELECT COUNT(*) FROM ir_queue').fetchone()
    assert readings == READINGS and with_photo == READINGS, (
        readings, with_photo)
    assert queued, "the evidence checks were not queued"
    print(f'BENCH field_sync_200_readings_s={elapsed:.1f}')
    print(f'BENCH field_sync_photo_mb='
        f'{sum(map(len, photos)) / len(photos) / 1e6:.1f}')
    print(f'BENCH field_sync_replay_20_s={replay_s:.1f}')
    print(f'# {READINGS} readings, {queued} tasks queued (evidence, OCR)',
        file=sys.stderr)


if __name__ == '__main__':
    main()
