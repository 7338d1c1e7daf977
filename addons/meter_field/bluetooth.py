"""Reading LoRa / wireless meters over Bluetooth (蓝牙抄表).

The field staff's phone talks to the meter through a Bluetooth Low Energy
serial bridge (Web Bluetooth): it gets the request frame of the meter
from the server, writes it to the bridge and posts back the bytes the
meter answered.  The server decodes them with the codecs of
meter_devices (bluetooth_frames.py), checks that they come from the
meter's own address and stores the reading with source 'bluetooth'; the
bytes received are kept with it (meter.reading.bluetooth), and the
reading is checked and reviewed as any other.
"""
import datetime as dt
import re

from trytond.i18n import gettext
from trytond.model import ModelSingleton, ModelSQL, ModelView, Unique, fields
from trytond.modules.meter_base.meter import PROTOCOLS
from trytond.modules.meter_devices import units
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval

from . import bluetooth_frames as frames
from .exceptions import BluetoothConfigurationError, BluetoothReadingError

# The Nordic UART Service, the usual BLE serial bridge: the phone writes
# to RX and is notified on TX
NORDIC_UART = {
    'service': '6e400001-b5a3-f393-e0a9-e50e24dcca9e',
    'write': '6e400002-b5a3-f393-e0a9-e50e24dcca9e',
    'notify': '6e400003-b5a3-f393-e0a9-e50e24dcca9e',
    }
# A full 128-bit UUID as Web Bluetooth takes it, or a 16-bit alias
_UUID = re.compile(
    r'^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
    r'|[0-9a-f]{4})$')
BASE_UUID = '0000%s-0000-1000-8000-00805f9b34fb'
# What the phone makes for a reading's key: a UUID or the like
_KEY = re.compile(r'^[A-Za-z0-9_-]{8,64}$')
MAX_TIMEOUT = 60


def full_uuid(text):
    "Return the UUID in the lower-case 128-bit form Web Bluetooth wants"
    text = (text or '').strip().lower()
    if len(text) == 4:
        return BASE_UUID % text
    return text


def parse_taken_at(text):
    """Return the naive UTC moment of an ISO 8601 time with its offset
    (the phone's clock when the meter answered), or None when it is not
    one"""
    text = (text or '').strip()
    if not text or len(text) > 40:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None or not 2000 <= moment.year <= 2100:
        return None
    return moment.astimezone(dt.timezone.utc).replace(
        tzinfo=None, microsecond=0)


class Configuration(ModelSingleton, ModelSQL, ModelView):
    """Settings of the readings over Bluetooth: the BLE serial bridge the
    phones look for besides the Nordic UART Service, and how long a meter
    may take to answer"""
    __name__ = 'meter.field.bluetooth.configuration'
    service_uuid = fields.Char(
        "Service UUID", required=True,
        help="The GATT service of the Bluetooth serial bridge (a 128-bit "
        "UUID or a 16-bit one such as ffe0).  The phones always try the "
        "Nordic UART Service too.")
    write_uuid = fields.Char(
        "Write Characteristic", required=True,
        help="The characteristic the phone writes the request to.")
    notify_uuid = fields.Char(
        "Notify Characteristic", required=True,
        help="The characteristic that notifies the meter's reply (the "
        "same as the write one on many bridges).")
    name_prefix = fields.Char(
        "Device Name Prefix",
        help="Also offer the bridges whose name starts with this text, "
        "for bridges that do not advertise their service.")
    reply_timeout = fields.Integer(
        "Reply Timeout", required=True,
        domain=[('reply_timeout', '>', 0),
            ('reply_timeout', '<=', MAX_TIMEOUT)],
        help="How long a meter has to answer, in seconds.")

    @classmethod
    def default_service_uuid(cls):
        return NORDIC_UART['service']

    @classmethod
    def default_write_uuid(cls):
        return NORDIC_UART['write']

    @classmethod
    def default_notify_uuid(cls):
        return NORDIC_UART['notify']

    @classmethod
    def default_reply_timeout(cls):
        return 5

    @classmethod
    def validate_fields(cls, configurations, field_names):
        super().validate_fields(configurations, field_names)
        names = {'service_uuid', 'write_uuid', 'notify_uuid'}
        if field_names is None or field_names & names:
            for configuration in configurations:
                for name in sorted(names):
                    value = (getattr(configuration, name) or '').strip()
                    if not _UUID.match(value.lower()):
                        raise BluetoothConfigurationError(gettext(
                                'meter_field.msg_bluetooth_uuid',
                                value=value,
                                field=cls.__names__(name)['field']))

    def bridges(self):
        """Return the services the phone may find a bridge on, each a
        dictionary of its service, write and notify characteristics:
        the configured one, then the Nordic UART Service"""
        configured = {
            'service': full_uuid(self.service_uuid),
            'write': full_uuid(self.write_uuid),
            'notify': full_uuid(self.notify_uuid),
            }
        bridges = [configured]
        if configured != NORDIC_UART:
            bridges.append(dict(NORDIC_UART))
        return bridges


class ReadingFrame(ModelSQL, ModelView):
    """The bytes of a reading over Bluetooth: what the server asked, what
    the phone received from the meter and the key the phone made for the
    reading, which makes sending it again harmless"""
    __name__ = 'meter.reading.bluetooth'
    reading = fields.Many2One(
        'meter.reading', "Reading", required=True, ondelete='CASCADE',
        readonly=True)
    key = fields.Char("Key", required=True, readonly=True,
        help="Made by the phone for the reading: the same key sent again "
        "gives back this reading, never a second one.")
    protocol = fields.Selection(PROTOCOLS, "Protocol", readonly=True)
    address = fields.Char("Address", readonly=True)
    request = fields.Char("Request Frame", readonly=True)
    frame = fields.Char("Reply Frame", readonly=True,
        help="The meter's reply frame, as hexadecimal.")
    received = fields.Text("Received", readonly=True,
        help="Every byte the phone received, as hexadecimal.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('key_unique', Unique(t, t.key),
                'meter_field.msg_bluetooth_key_unique'),
            ]

    def get_rec_name(self, name):
        return self.key


class Reading(metaclass=PoolMeta):
    __name__ = 'meter.reading'
    bluetooth_address = fields.Function(
        fields.Char("Bluetooth Address"), 'get_bluetooth')
    bluetooth_frame = fields.Function(
        fields.Char("Bluetooth Reply Frame"), 'get_bluetooth')
    bluetooth_received = fields.Function(
        fields.Text("Bluetooth Received"), 'get_bluetooth')
    bluetooth_request = fields.Function(
        fields.Char("Bluetooth Request Frame"), 'get_bluetooth')

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('//page[@id="bluetooth"]', 'states', {
                    'invisible': Eval('source') != 'bluetooth',
                    }),
            ]

    @classmethod
    def get_bluetooth(cls, readings, names):
        pool = Pool()
        Frame = pool.get('meter.reading.bluetooth')
        result = {name: {r.id: None for r in readings} for name in names}
        for frame in Frame.search(
                [('reading', 'in', [r.id for r in readings])],
                order=[('id', 'ASC')]):
            for name in names:
                result[name].setdefault(frame.reading.id, None)
                if result[name][frame.reading.id] is None:
                    result[name][frame.reading.id] = getattr(
                        frame, name[len('bluetooth_'):])
        return result

    @classmethod
    def bluetooth_request_of(cls, meter):
        """Return the request frame of meter as hexadecimal, for the phone
        to write to the meter; raise BluetoothReadingError when the meter
        can not be read over Bluetooth"""
        try:
            return frames.request_frame(meter.protocol, meter.comm_address,
                meter.kind).hex().upper()
        except frames.ReplyError as error:
            raise BluetoothReadingError(gettext(
                    'meter_field.msg_bluetooth_%s' % error.code,
                    meter=meter.rec_name))

    @classmethod
    def bluetooth_sent(cls, key):
        """Return the reading sent before with key, or None"""
        Frame = Pool().get('meter.reading.bluetooth')
        frames_ = Frame.search([('key', '=', (key or '').strip())], limit=1)
        return frames_[0].reading if frames_ else None

    @classmethod
    def submit_bluetooth(cls, meter, reply, key, taken_at, reader,
            submitter, position=None):
        """Store the reading of meter that the phone received over
        Bluetooth and return (reading, created).

        reply is the hexadecimal text of every byte received; key the
        phone's key of the reading (the reading sent before with the same
        key is returned, created False); taken_at the phone's ISO 8601
        time of the reading with its offset; position as parse_position
        gives it.  Raise BluetoothReadingError, before anything is
        written, when the bytes do not give a reading of this meter."""
        pool = Pool()
        Frame = pool.get('meter.reading.bluetooth')
        key = (key or '').strip()
        if not _KEY.match(key):
            raise BluetoothReadingError(
                gettext('meter_field.msg_bluetooth_key'))
        reading = cls.bluetooth_sent(key)
        if reading is not None:
            return reading, False
        moment = parse_taken_at(taken_at)
        if moment is None:
            raise BluetoothReadingError(gettext(
                    'meter_field.msg_bluetooth_taken_at',
                    value=(taken_at or '')[:40]))
        if meter.state != 'active':
            raise BluetoothReadingError(
                gettext('meter_field.msg_meter_removed'))
        request = cls.bluetooth_request_of(meter)
        try:
            data = frames.parse_hex(reply)
            result = frames.read_reply(
                meter.protocol, meter.comm_address, meter.kind, data)
        except frames.ReplyError as error:
            status = error.details.get('error')
            raise BluetoothReadingError(gettext(
                    'meter_field.msg_bluetooth_%s' % error.code,
                    meter=meter.rec_name,
                    address=error.details.get('address', ''),
                    expected=error.details.get('expected', ''),
                    error='0x%02X' % status if status is not None else ''))
        try:
            value = units.convert(
                result.value, result.unit, meter.reading_unit)
        except units.UnitError:
            raise BluetoothReadingError(gettext(
                    'meter_field.msg_bluetooth_unit',
                    unit=result.unit or '?', target=meter.reading_unit))
        latitude, longitude, accuracy = position or (None, None, None)
        reading, = cls.create([{
                    'meter': meter.id,
                    'value': value,
                    'taken_at': moment,
                    'source': 'bluetooth',
                    'reader': reader.id if reader else None,
                    'submitter': submitter,
                    'reader_latitude': latitude,
                    'reader_longitude': longitude,
                    'reader_accuracy': accuracy,
                    }])
        Frame.create([{
                    'reading': reading.id,
                    'key': key,
                    'protocol': meter.protocol,
                    'address': result.address,
                    'request': request,
                    'frame': result.raw.hex().upper(),
                    'received': data.hex().upper(),
                    }])
        return reading, True
