"The meters as the field staff find them on site"
from trytond.pool import PoolMeta

# A code a member of staff types or scans: a number or a barcode
MAX_CODE = 64


class Meter(metaclass=PoolMeta):
    __name__ = 'meter.meter'

    @classmethod
    def from_code(cls, code):
        """Return the meter whose number or barcode is code (as printed on
        its label or typed), or None.  The search runs with the caller's
        record rules: a meter of another campus is not found."""
        code = (code or '').strip()
        if not code or len(code) > MAX_CODE:
            return None
        meters = cls.search(['OR',
                ('number', '=', code),
                ('barcode', '=', code),
                ], order=[('state', 'ASC'), ('id', 'DESC')], limit=1)
        return meters[0] if meters else None

    @classmethod
    def field_search(cls, text, limit=20):
        """Return the meters whose number, barcode or communication address
        contains text, the exact matches first, within the caller's record
        rules."""
        text = (text or '').strip()
        if not text or len(text) > MAX_CODE:
            return []
        exact = cls.from_code(text)
        pattern = '%' + text.replace('\\', '\\\\').replace(
            '%', '\\%').replace('_', '\\_') + '%'
        meters = cls.search(['OR',
                ('number', 'ilike', pattern),
                ('barcode', 'ilike', pattern),
                ('comm_address', 'ilike', pattern),
                ], limit=limit)
        if exact:
            meters = [exact] + [m for m in meters if m != exact]
        return meters[:limit]

    @property
    def code(self):
        "The code of the meter's card: its barcode, else its number"
        return self.barcode or self.number
