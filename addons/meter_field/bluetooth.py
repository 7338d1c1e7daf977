"""Reading LoRa / wireless meters over Bluetooth (蓝牙抄表).

The field staff's phone talks to the meter through a Bluetooth Low Energy
serial bridge (Web Bluetooth): it gets the request frame of the meter
from the server, writes it to the bridge and posts back the bytes the
meter answered.  The server decodes them with the codecs of
meter_devices (bluetooth_frames.py), checks that they come from the
meter's own address and stores the reading with source 'bluetooth'; the
frames are kept on the reading as its record, and the reading is checked
and reviewed as any other.  A reply read without signal waits in the
phone's queue (offline.js) and is sent to sync/bluetooth: its key and
time are those of every submission of the phones (sync.py).
"""
import re

from sql import Null, Table

from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.modules.meter_devices import units
from trytond.pool import PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

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
MAX_TIMEOUT = 60
# Where the frames were kept before they were on the reading
FRAMES_TABLE = 'meter_reading_bluetooth'


def full_uuid(text):
    "Return the UUID in the lower-case 128-bit form Web Bluetooth wants"
    text = (text or '').strip().lower()
    if len(text) == 4:
        return BASE_UUID % text
    return text


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

    def phone_settings(self):
        """Return what a phone needs to find the bridge and wait for the
        meter, as a JSON-able dict (kept with a round for work without
        signal)"""
        return {
            'bridges': self.bridges(),
            'name_prefix': self.name_prefix or '',
            'timeout': self.reply_timeout,
            }


class Reading(metaclass=PoolMeta):
    __name__ = 'meter.reading'
    bluetooth_address = fields.Char("Bluetooth Address", readonly=True,
        help="The address in the meter's reply.")
    bluetooth_request = fields.Char("Bluetooth Request Frame", readonly=True,
        help="The frame the phone wrote to the meter, as hexadecimal.")
    bluetooth_frame = fields.Char("Bluetooth Reply Frame", readonly=True,
        help="The meter's reply frame, as hexadecimal.")
    bluetooth_received = fields.Text("Bluetooth Received", readonly=True,
        help="Every byte the phone received, as hexadecimal.")

    @classmethod
    def __register__(cls, module):
        table_h = cls.__table_handler__(module)
        # Migration: the frames and the key were kept in their own table
        migrate = (backend.TableHandler.table_exist(FRAMES_TABLE)
            and not table_h.column_exist('bluetooth_frame'))
        super().__register__(module)
        if migrate:
            cls._migrate_frames()

    @classmethod
    def _migrate_frames(cls):
        """Copy the frames and the key of the readings over Bluetooth from
        the table they were kept in (meter.reading.bluetooth, dropped by
        the administrator when wanted) to the readings"""
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        frames_ = Table(FRAMES_TABLE)
        columns = ['address', 'request', 'frame', 'received']
        cursor.execute(*table.update(
                [getattr(table, 'bluetooth_' + c) for c in columns],
                [frames_.select(getattr(frames_, c),
                        where=frames_.reading == table.id)
                    for c in columns],
                where=table.id.in_(frames_.select(frames_.reading))))
        cursor.execute(*table.update(
                [table.idempotency_key],
                [frames_.select(frames_.key,
                        where=frames_.reading == table.id)],
                where=table.id.in_(frames_.select(frames_.reading))
                & (table.idempotency_key == Null)))

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('//page[@id="bluetooth"]', 'states', {
                    'invisible': Eval('source') != 'bluetooth',
                    }),
            ]

    @classmethod
    def copy(cls, readings, default=None):
        default = default.copy() if default is not None else {}
        # The frames are the record of the reading the meter answered
        for name in ['bluetooth_address', 'bluetooth_request',
                'bluetooth_frame', 'bluetooth_received']:
            default.setdefault(name)
        return super().copy(readings, default=default)

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
    def bluetooth_requests(cls, meters):
        """Return the request frame of each meter as hexadecimal by id,
        None for a meter that is not read over Bluetooth: what a phone
        keeps with a round to read its meters without signal"""
        result = {}
        for meter in meters:
            try:
                result[meter.id] = cls.bluetooth_request_of(meter)
            except BluetoothReadingError:
                result[meter.id] = None
        return result

    @classmethod
    def submit_bluetooth(cls, meter, reply, submitter, taken_at, key,
            reader=None, position=None):
        """Create and return the reading of meter that the phone received
        over Bluetooth as reply (the hexadecimal text of every byte),
        taken at taken_at (naive UTC, the phone's time) by the submission
        of idempotency key, with the frames as its record; position as
        parse_position gives it.  sync.once() makes it idempotent.

        Raise BluetoothReadingError, before anything is written, when the
        bytes do not give a reading of this meter."""
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
                    'taken_at': taken_at,
                    'source': 'bluetooth',
                    'reader': reader.id if reader else None,
                    'submitter': submitter,
                    'reader_latitude': latitude,
                    'reader_longitude': longitude,
                    'reader_accuracy': accuracy,
                    'idempotency_key': key,
                    'bluetooth_address': result.address,
                    'bluetooth_request': request,
                    'bluetooth_frame': result.raw.hex().upper(),
                    'bluetooth_received': data.hex().upper(),
                    }])
        return reading
