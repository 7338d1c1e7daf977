# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""Amounts in capital Chinese numerals (大写金额) for notices and receipts.

Plain Python without trytond.
"""
from decimal import Decimal

_DIGITS = '零壹贰叁肆伍陆柒捌玖'
_UNITS = ['', '拾', '佰', '仟']
_GROUPS = ['', '万', '亿', '万亿']


def amount_in_words(amount):
    "Return the amount in capital Chinese numerals (大写金额)"
    amount = Decimal(amount).quantize(Decimal('0.01'))
    if amount < 0:
        return '负' + amount_in_words(-amount)
    yuan = int(amount)
    fen_total = int((amount - yuan) * 100)
    jiao, fen = divmod(fen_total, 10)
    text = ''
    if yuan:
        groups = []
        while yuan:
            yuan, group = divmod(yuan, 10000)
            groups.append(group)
        parts = []
        zero = False
        for index in range(len(groups) - 1, -1, -1):
            group = groups[index]
            if not group:
                zero = bool(parts)
                continue
            words = ''
            digits = [group // 1000, group // 100 % 10, group // 10 % 10,
                group % 10]
            for position, digit in enumerate(digits):
                if digit:
                    if zero:
                        words += '零'
                        zero = False
                    words += _DIGITS[digit] + _UNITS[3 - position]
                elif words or parts:
                    zero = True
            parts.append(words + _GROUPS[index])
            zero = group % 10 == 0 and index > 0
        text = ''.join(parts) + '元'
    if not jiao and not fen:
        return (text or '零元') + '整'
    if jiao:
        text += _DIGITS[jiao] + '角'
    elif text:
        text += '零'
    if fen:
        text += _DIGITS[fen] + '分'
    return text
