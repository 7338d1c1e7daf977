"""Meter labels (条码标签), in plain Python: no trytond import.

A label carries the centre's name, the meter's code as Code 128 and the
address of its card as a QR code, its kind, campus and place.  One layout
(layout.py) is drawn three ways: as an image and a PDF of one label a page
for any printer (image.py, Pillow), and as the command languages of label
printers, ZPL for Zebra (zpl.py) and TSPL for TSC and most Chinese printers
(tspl.py), where the printer draws the barcode and the QR code itself and
the Chinese text comes as a bitmap.  printer.py sends the commands to a
printer's raw port (9100).
"""
from .layout import Label, LabelError, LabelSize, layout

__all__ = ['Label', 'LabelError', 'LabelSize', 'layout']
