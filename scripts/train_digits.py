#!/usr/bin/env python3
"""Train the wheel digit classifier of addons/meter_base/ocr/digits.py

Usage: .venv/bin/python scripts/train_digits.py [--check]

Training data (``../shared/testdata`` beside the checkout, or
``$METER_TESTDATA``), never a held-out photo of tests/bench/bench_ocr.py
(SHA-1 of the file name divisible by 3):

- ``meter-digits``: every crop, ``0``-``9`` by their label, ``NaN`` as
  OTHER;
- ``meter-photos-cn``, development photos only: the labelled counter
  window (``window_quad``) cut into its five equal wheels, labelled by
  ``window_digits``; the last wheel of a photo with ``rolling_to`` is
  ROLL + its lower digit;
- the development photos of the three sets (``meter-photos``,
  ``meter-photos-cn``, ``meter-photos-more``) as the OCR cuts them: the
  counter line found by ``ocr._counter``, cut to its digits and into
  wheels as ``ocr._check_wheels`` does, when it gives as many integer
  wheels as the reading's digits, labelled by the wheels the photo shows:
  cn by ``window_digits`` (the last wheel with ``rolling_to`` as ROLL +
  its lower digit), shared by ``digit_wheels_visible`` of its
  ``readings-detail.csv`` (``0042(2/3)``: 00422, the last rolling; not the
  photos whose wheels are hidden by glare or cut off), more by
  ``integer_digits_visible``, these two only when the line read them but
  for one digit (so that the cut is the window's, the right way up);
  others by the line's own digits when they give the reading; the arrow or
  unit beside the digits as OTHER;
- ROLL + d also from made-up rolling wheels: the bottom of a crop of digit
  d above the top of a crop of d + 1 from the same source.

Each crop is augmented (shift, scale, margin, blur, noise, contrast) with a
fixed seed, so the weights are rebuilt the same.  A quarter of the
photos' wheels are kept aside to print the accuracy with ``--check``;
without it the model is trained on all.  Writes addons/meter_base/ocr/digits.npz
(float16).  It takes about a minute on one core.
"""
import csv
import hashlib
import importlib.machinery
import importlib.util
import os
import sys

os.environ.setdefault('OMP_NUM_THREADS', '1')

import cv2  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BASE = os.path.join(REPO, 'addons', 'meter_base')
OUTPUT = os.path.join(BASE, 'ocr', 'digits.npz')
HIDDEN = 64
ROLL, OTHER, CLASSES = 10, 20, 21
EPOCHS = 40
AUGMENT = 8


def plain_module(name):
    "Import a module of meter_base without the Tryton module"
    package = 'meter_base_plain'
    if package not in sys.modules:
        spec = importlib.machinery.ModuleSpec(package, None, is_package=True)
        module = importlib.util.module_from_spec(spec)
        module.__path__ = [BASE]
        sys.modules[package] = module
    return importlib.import_module('%s.%s' % (package, name))


def testdata():
    return os.environ.get('METER_TESTDATA') or os.path.normpath(
        os.path.join(REPO, '..', 'shared', 'testdata'))


def held_out(name):
    "The benchmark's held-out split: never trained on"
    return int(hashlib.sha1(name.encode()).hexdigest(), 16) % 3 == 0


def meter_digits():
    "Return (gray crop, label, group) of the meter-digits set"
    folder = os.path.join(testdata(), 'meter-digits')
    result = []
    for name in sorted(os.listdir(folder)):
        if not name.lower().endswith(('.jpg', '.bmp')):
            continue
        label = name.split('_')[0]
        gray = cv2.imread(os.path.join(folder, name), cv2.IMREAD_GRAYSCALE)
        if gray is None:
            continue
        label = OTHER if label == 'NaN' else int(label)
        # Tight crops: a margin as the wheel window gives
        pad_v, pad_h = gray.shape[0] // 6, gray.shape[1] // 8
        gray = cv2.copyMakeBorder(gray, pad_v, pad_v, pad_h, pad_h,
            cv2.BORDER_REPLICATE)
        result.append((gray, label, 'digits'))
    return result


def cn_wheels():
    "Return (gray crop, label, photo) of the cn development photos' wheels"
    counter = plain_module('ocr.counter')
    folder = os.path.join(testdata(), 'meter-photos-cn')
    with open(os.path.join(folder, 'manifest.csv'), newline='') as f:
        rows = list(csv.DictReader(f))
    result = []
    for row in rows:
        if held_out(row['file']):
            continue
        img = cv2.imread(os.path.join(folder, row['file']))
        quad = np.float32(row['window_quad'].split()).reshape(4, 2)
        window = counter.warp(img, quad, 0.1)
        gray = cv2.cvtColor(window, cv2.COLOR_BGR2GRAY)
        scale = 128 / gray.shape[0]
        gray = cv2.resize(gray, (max(1, round(gray.shape[1] * scale)), 128),
            interpolation=cv2.INTER_AREA)
        digits = row['window_digits']
        pitch = gray.shape[1] / len(digits)
        for i, digit in enumerate(digits):
            crop = gray[:, int(i * pitch):int((i + 1) * pitch)]
            label = int(digit)
            if row['rolling_to'] and i == len(digits) - 1:
                label = ROLL + label
            result.append((crop, label, 'cn'))
    return result


def shared_detail():
    """Return the wheels shown by each photo of meter-photos, with whether
    the last one rolls, from its readings-detail.csv: 0042(2/3) is 00422
    rolling"""
    import re
    folder = os.path.join(testdata(), 'meter-photos')
    result = {}
    with open(os.path.join(folder, 'readings-detail.csv'), newline='') as f:
        for row in csv.DictReader(f):
            match = re.fullmatch(r'(\d+)(?:\((\d)/\d\))?',
                row['digit_wheels_visible'])
            state = row['last_wheel_state']
            # Wheels hidden by glare or cut off do not show their digit
            if match and 'hidden' not in state and 'cut off' not in state:
                result[row['file']] = (
                    match.group(1) + (match.group(2) or ''),
                    bool(match.group(2)))
    return result


def _near(read, shown):
    """Tell whether the line read the wheels shown but for one: its cut is
    then that of the window (a line read the other way up or another line
    differs more)"""
    return len(read) == len(shown) and sum(
        a != b for a, b in zip(read, shown)) <= 1


def photo_wheels():
    "Return (gray crop, label, source) of the development photos' wheels"
    from decimal import Decimal
    ocr = plain_module('ocr')
    wheels = plain_module('ocr.wheels')
    eng = ocr.engine()
    shared_wheels = shared_detail()
    result = []
    for source, folder in [('shared', 'meter-photos'),
            ('cn', 'meter-photos-cn'), ('more', 'meter-photos-more')]:
        folder = os.path.join(testdata(), folder)
        with open(os.path.join(folder, 'manifest.csv'), newline='') as f:
            rows = list(csv.DictReader(f))
        for row in rows:
            if held_out(row['file']):
                continue
            with open(os.path.join(folder, row['file']), 'rb') as f:
                img = ocr._load(f.read(), None)
            counter = ocr._counter(eng, img)
            if counter is None:
                continue
            value = int(Decimal(row['reading']))
            rolling = False
            if source == 'cn':
                expected = row['window_digits']
                rolling = bool(row['rolling_to'])
            elif (source == 'shared' and row['file'] in shared_wheels
                    and _near(counter.digits,
                        shared_wheels[row['file']][0])):
                expected, rolling = shared_wheels[row['file']]
            elif (source == 'more'
                    and _near(counter.digits, row['integer_digits_visible'])):
                expected = row['integer_digits_visible']
            elif int(counter.digits) == value:
                expected = counter.digits
            else:
                continue
            gray = ocr._digits_gray(img, counter)
            count = len(expected) + len(counter.decimals)
            cells = wheels.fit_cells(gray, count)
            if len(cells) != count:
                continue
            crops = wheels.cell_crops(gray, cells)
            for i, digit in enumerate(expected):
                label = int(digit)
                if rolling and i == len(expected) - 1:
                    label = ROLL + label
                result.append((crops[i], label, source))
            # What lies beside the digits on the whole line
            whole = ocr._window_gray(img, counter)
            left, right = counter.span
            pitch = (cells[1][0] - cells[0][0]) / max(gray.shape[1], 1) * (
                right - left)
            width = whole.shape[1]
            if left > 0.6 * pitch:
                result.append((whole[:, :max(1, int(left * width))],
                        OTHER, source))
            if right < 1 - 0.6 * pitch:
                result.append((whole[:, int(right * width):], OTHER, source))
        print('%s: %d crops' % (source, len(result)))
    return result


def made_up_rolls(samples, rng, count):
    "Return ROLL crops: the bottom of a d above the top of d + 1"
    by_label = {}
    for gray, label, group in samples:
        if label < 10:
            by_label.setdefault((group, label), []).append(gray)
    result = []
    keys = list(by_label)
    for _ in range(count):
        source, digit = keys[rng.integers(len(keys))]
        upper = by_label[(source, digit)]
        lower = by_label.get((source, (digit + 1) % 10))
        if not lower:
            continue
        a = upper[rng.integers(len(upper))]
        b = lower[rng.integers(len(lower))]
        size = (a.shape[1], a.shape[0])
        b = cv2.resize(b, size)
        share = rng.uniform(0.3, 0.7)
        cut = int(a.shape[0] * share)
        rolled = np.vstack([a[a.shape[0] - cut:], b[:a.shape[0] - cut]])
        result.append((rolled, ROLL + digit, 'roll'))
    return result


def augment(gray, rng):
    "Return the crop shifted, scaled, blurred and noised at random"
    height, width = gray.shape
    angle = rng.uniform(-4, 4)
    scale = rng.uniform(0.88, 1.12)
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, scale)
    matrix[0, 2] += rng.uniform(-0.1, 0.1) * width
    matrix[1, 2] += rng.uniform(-0.08, 0.08) * height
    # Window margins above and below as the line detector gives them
    top, bottom = (int(rng.uniform(-0.15, 0.15) * height) for _ in 'ab')
    gray = cv2.copyMakeBorder(gray, max(top, 0), max(bottom, 0), 0, 0,
        cv2.BORDER_REPLICATE)
    gray = gray[max(-top, 0):gray.shape[0] - max(-bottom, 0)]
    height = gray.shape[0]
    gray = cv2.warpAffine(gray, matrix, (width, height),
        borderMode=cv2.BORDER_REPLICATE)
    # Width of the cell as the wheel cutter may give it
    stretch = rng.uniform(0.85, 1.2)
    gray = cv2.resize(gray, (max(4, int(width * stretch)), height))
    if rng.random() < 0.4:
        gray = cv2.GaussianBlur(gray, (0, 0), rng.uniform(0.5, 1.6))
    gray = gray.astype(np.float32)
    gray = gray * rng.uniform(0.6, 1.2) + rng.uniform(-30, 30)
    gray += rng.normal(0, rng.uniform(0, 8), gray.shape)
    return np.clip(gray, 0, 255).astype(np.uint8)


def dataset(samples, rng, copies):
    digits = plain_module('ocr.digits')
    x, y = [], []
    for gray, label, _ in samples:
        x.append(digits.features(gray))
        y.append(label)
        for _ in range(copies):
            x.append(digits.features(augment(gray, rng)))
            y.append(label)
    return np.array(x, dtype=np.float32), np.array(y)


def train(x, y, rng):
    "Return the weights of the perceptron trained by Adam"
    digits = plain_module('ocr.digits')
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-3
    xs = (x - mean) / scale
    params = {
        'w1': rng.normal(0, np.sqrt(2 / x.shape[1]),
            (x.shape[1], HIDDEN)).astype(np.float32),
        'b1': np.zeros(HIDDEN, np.float32),
        'w2': rng.normal(0, np.sqrt(2 / HIDDEN), (HIDDEN, CLASSES)).astype(
            np.float32),
        'b2': np.zeros(CLASSES, np.float32),
        }
    moments = {k: [np.zeros_like(v), np.zeros_like(v)]
        for k, v in params.items()}
    onehot = np.eye(CLASSES, dtype=np.float32)[y]
    step = 0
    rate, decay, batch = 2e-3, 1e-4, 64
    for epoch in range(EPOCHS):
        order = rng.permutation(len(xs))
        for start in range(0, len(xs), batch):
            index = order[start:start + batch]
            xb, tb = xs[index], onehot[index]
            # Dropout on the input features
            xb = xb * (rng.random(xb.shape) > 0.2) / 0.8
            hidden = np.maximum(xb @ params['w1'] + params['b1'], 0)
            logits = hidden @ params['w2'] + params['b2']
            logits -= logits.max(axis=1, keepdims=True)
            prob = np.exp(logits)
            prob /= prob.sum(axis=1, keepdims=True)
            grad_logits = (prob - tb) / len(index)
            grads = {
                'w2': hidden.T @ grad_logits + decay * params['w2'],
                'b2': grad_logits.sum(axis=0),
                }
            grad_hidden = grad_logits @ params['w2'].T * (hidden > 0)
            grads['w1'] = xb.T @ grad_hidden + decay * params['w1']
            grads['b1'] = grad_hidden.sum(axis=0)
            step += 1
            for k in params:
                m, v = moments[k]
                m *= 0.9
                m += 0.1 * grads[k]
                v *= 0.999
                v += 0.001 * grads[k] ** 2
                params[k] -= rate * (m / (1 - 0.9 ** step)) / (
                    np.sqrt(v / (1 - 0.999 ** step)) + 1e-8)
    model = dict(params, mean=mean.astype(np.float32),
        scale=scale.astype(np.float32))
    del digits
    return model


def accuracy(model, x, y):
    digits = plain_module('ocr.digits')
    predicted = digits.forward(model, x).argmax(axis=1)
    return float((predicted == y).mean())


def main():
    rng = np.random.default_rng(15)
    cache = os.environ.get('TRAIN_DIGITS_CACHE')
    if cache and os.path.exists(cache):
        import pickle
        with open(cache, 'rb') as f:
            samples = pickle.load(f)
    else:
        samples = meter_digits() + cn_wheels() + photo_wheels()
        if cache:
            import pickle
            with open(cache, 'wb') as f:
                pickle.dump(samples, f)
    samples += made_up_rolls(samples, rng, 300)
    print('crops: %d' % len(samples))
    if '--check' in sys.argv:
        # Every fourth crop of the photos kept aside to print the accuracy
        check = [s for s in samples if s[2] in {'shared', 'cn', 'more'}]
        check = check[::4]
        kept = {id(s) for s in check}
        x, y = dataset([s for s in samples if id(s) not in kept], rng,
            AUGMENT)
        xc, yc = dataset(check, rng, 0)
        model = train(x, y, rng)
        print('accuracy on the wheels kept aside: %.3f (%d)'
            % (accuracy(model, xc, yc), len(yc)))
        return
    x, y = dataset(samples, rng, AUGMENT)
    model = train(x, y, rng)
    print('accuracy on the training crops: %.3f' % accuracy(model, x, y))
    np.savez_compressed(OUTPUT,
        **{k: v.astype(np.float16) for k, v in model.items()})
    print('wrote %s (%d bytes)' % (OUTPUT, os.path.getsize(OUTPUT)))


if __name__ == '__main__':
    main()
