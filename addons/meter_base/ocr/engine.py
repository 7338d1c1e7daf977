# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""The RapidOCR engine: PP-OCR's detector, direction classifier and recogniser

Created once per process (see ``engine``) so that a reading costs only the
inference.  The detector never runs on more than DETECT_PIXELS: its time and
memory grow with the pixels.
"""
import math
import threading

import cv2
import numpy as np

__all__ = ['engine', 'DETECT_SIDE', 'DETECT_PIXELS', 'THREADS']
# The detector enlarges a photo whose short side is under DETECT_SIDE, as
# small text is found better so, but never runs on more than DETECT_PIXELS:
# its time and memory grow with the pixels (24 s and 2.5 GB on 12 MP).
DETECT_SIDE = 608
DETECT_PIXELS = 1280 * 960
# One thread per inference: the server's cores are shared with the Tryton
# workers, and a spinning thread pool on busy cores was measured 1.5 to 2
# times slower than a single thread.
THREADS = 1

_engine = None
_engine_lock = threading.Lock()
# RapidOCR keeps per-call state on its objects: one reading at a time.
_read_lock = threading.Lock()


def engine():
    "Return the RapidOCR engine, created once per process"
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = _Engine()
    return _engine


class _Engine:
    "The three PP-OCR models and the digit indexes of the recogniser"

    def __init__(self):
        import onnxruntime
        onnxruntime.disable_telemetry_events()
        from rapidocr_onnxruntime import RapidOCR
        ocr = RapidOCR(intra_op_num_threads=THREADS,
            inter_op_num_threads=THREADS)
        self.detector = ocr.text_det
        self.detector.get_preprocess = lambda max_wh: _DetectResize(
            DETECT_SIDE, 'min', self.detector.mean, self.detector.std)
        self.classifier = ocr.text_cls
        self.recognizer = ocr.text_rec
        characters = self.recognizer.postprocess_op.character
        self.digit_index = np.array(
            [characters.index(str(d)) for d in range(10)])

    def detect(self, img):
        """Return the text boxes found on the image

        The image is scaled down to DETECT_PIXELS first, by area so that
        thin strokes stay, and the boxes scaled back to the image.
        """
        height, width = img.shape[:2]
        scale = min(1., math.sqrt(DETECT_PIXELS / (height * width)))
        if scale < 1:
            size = (max(32, int(width * scale) // 32 * 32),
                max(32, int(height * scale) // 32 * 32))
            small = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        else:
            small = img
        boxes, _ = self.detector(small)
        if boxes is None or not len(boxes):
            return []
        if small is not img:
            boxes = boxes * np.float32(
                [width / small.shape[1], height / small.shape[0]])
        return list(boxes)

    def upside_down(self, crops):
        "Vote, weighted by width, on whether the text is upside down"
        return self.vote(crops) > 0

    def vote(self, crops):
        """Return the vote of the direction classifier on the text lines,
        from -1 (all sure they are upright) to 1 (all sure they are upside
        down), each line weighted by its width"""
        crops = [np.ascontiguousarray(np.rot90(c))
            if c.shape[0] >= 1.5 * c.shape[1] else c for c in crops]
        if not crops:
            return 0.
        _, results, _ = self.classifier(crops)
        vote = 0.
        for (label, score), crop in zip(results, crops):
            vote += (1 if label == '180' else -1) * score * crop.shape[1]
        return vote / sum(c.shape[1] for c in crops)

    def recognize(self, crops):
        results, _ = self.recognizer(crops)
        return results

    def digit_probabilities(self, crops):
        "Return for each crop the best probability of each digit"
        rec = self.recognizer
        ratio = max(c.shape[1] / c.shape[0] for c in crops)
        batch = np.stack([rec.resize_norm_img(c, ratio) for c in crops])
        preds = rec.session(batch.astype(np.float32))[0]
        return preds[:, :, self.digit_index].max(axis=1)


class _DetectResize:
    """The detector's preprocessing, bounded in pixels

    Like PP-OCR's 'min' limit the short side is enlarged to the limit, but
    no further than DETECT_PIXELS; Engine.detect has already scaled larger
    images down to them.
    """

    def __init__(self, limit_side_len, limit_type, mean, std):
        from rapidocr_onnxruntime.ch_ppocr_det.utils import DetPreProcess
        self._preprocess = DetPreProcess(limit_side_len, limit_type, mean, std)
        self._preprocess.resize = self.resize
        self.limit = limit_side_len

    def __call__(self, img):
        return self._preprocess(img)

    def resize(self, img):
        height, width = img.shape[:2]
        ratio = max(1., self.limit / min(height, width))
        ratio = min(ratio, max(1., math.sqrt(
                    DETECT_PIXELS / (height * width))))
        size = (max(32, int(round(int(width * ratio) / 32) * 32)),
            max(32, int(round(int(height * ratio) / 32) * 32)))
        return cv2.resize(img, size)

