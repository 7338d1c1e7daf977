# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""A small classifier of single wheel digits

The recogniser of PP-OCR reads lines of print; the wheels of a meter are
printed in fonts it has seldom seen, and a wheel caught between two digits
is no character at all.  This classifier was trained on crops of single
wheels (``scripts/train_digits.py`` rebuilds ``digits.npz``): the
``meter-digits`` set of the shared test data and the wheels of the
development photos only, never the held-out ones of the benchmark.

It is a perceptron of one hidden layer on the HOG features of the crop made
dark print on a light ground; it gives 21 probabilities: the ten digits
standing in the window, the ten wheels caught between a digit d (the
bottom of d above the top of d + 1: ROLL + d) and OTHER, no single digit
(an arrow, a unit, a blur).  Its
weights are a few hundred kilobytes of numpy arrays, run by numpy.
"""
import os

import cv2
import numpy as np

__all__ = ['probabilities', 'lower_digit', 'features', 'normalise', 'ROLL',
    'OTHER', 'CLASSES', 'SIZE']

# Index of the wheel caught between 0 and 1 (then 1 and 2 ... 9 and 0)
ROLL = 10
# Index of the class "no single digit"
OTHER = 20
CLASSES = 21
# Width and height the crop is scaled to before its HOG features
SIZE = (20, 32)
# Orientation bins and cell side of the HOG features
BINS, CELL = 9, 4
WEIGHTS = os.path.join(os.path.dirname(__file__), 'digits.npz')

_model = None


def normalise(gray):
    """Return the crop as dark print on a light ground, 0 to 255

    White digits on black wheels are turned over; the contrast is
    stretched between the 2nd and 98th percentiles.
    """
    gray = gray.astype(np.float32)
    low, high = np.percentile(gray, [2, 98])
    gray = np.clip((gray - low) / max(high - low, 1.), 0, 1)
    height, width = gray.shape
    middle = gray[height // 4:height - height // 4,
        width // 4:width - width // 4]
    if middle.size and np.median(middle) < 0.5 * (
            np.percentile(gray, 5) + np.percentile(gray, 95)):
        gray = 1 - gray
    return (gray * 255).astype(np.uint8)


def features(gray):
    """Return the HOG features of a gray wheel crop

    Histograms of 9 gradient orientations (0 to 180 degrees) over cells of
    4 x 4 pixels, normalised over blocks of 2 x 2 cells, as Dalal and
    Triggs; OpenCV 5 no longer ships its HOGDescriptor.
    """
    gray = normalise(gray)
    gray = cv2.resize(gray, SIZE, interpolation=cv2.INTER_AREA)
    gray = gray.astype(np.float32) / 255
    dx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=1)
    dy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=1)
    magnitude = np.hypot(dx, dy)
    angle = np.mod(np.arctan2(dy, dx), np.pi) / np.pi * BINS
    low = np.floor(angle).astype(int) % BINS
    share = angle - np.floor(angle)
    height, width = gray.shape
    rows, columns = height // CELL, width // CELL
    cell = ((np.arange(height) // CELL)[:, None] * columns
        + (np.arange(width) // CELL)[None, :])
    index = (cell * BINS).ravel()
    cells = (np.bincount(index + low.ravel(),
            (magnitude * (1 - share)).ravel(), rows * columns * BINS)
        + np.bincount(index + ((low + 1) % BINS).ravel(),
            (magnitude * share).ravel(), rows * columns * BINS))
    cells = cells.reshape(rows, columns, BINS).astype(np.float32)
    blocks = np.concatenate([cells[:-1, :-1], cells[1:, :-1],
            cells[:-1, 1:], cells[1:, 1:]], axis=2)
    blocks /= np.sqrt((blocks ** 2).sum(axis=2, keepdims=True) + 1e-6)
    return np.minimum(blocks, 0.2).ravel()


def _load():
    global _model
    if _model is None:
        with np.load(WEIGHTS) as data:
            _model = {k: data[k].astype(np.float32) for k in data.files}
    return _model


def forward(model, x):
    "Return the class probabilities of the feature rows x"
    x = (x - model['mean']) / model['scale']
    hidden = np.maximum(x @ model['w1'] + model['b1'], 0)
    logits = hidden @ model['w2'] + model['b2']
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def probabilities(crops):
    "Return for each gray crop its CLASSES probabilities"
    if not crops:
        return np.zeros((0, CLASSES), dtype=np.float32)
    return forward(_load(), np.stack([features(c) for c in crops]))


def lower_digit(probabilities):
    """Return the probability of each digit being the one the wheel counts:
    standing in the window or the lower of the two it is caught between"""
    return probabilities[..., :10] + probabilities[..., ROLL:ROLL + 10]
