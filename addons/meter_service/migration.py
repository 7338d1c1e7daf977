"""The service desk moved from meter_base to meter_service (#12).

A database made before the move has the work orders, calendars and notices
owned by meter_base: their models and fields in ir.model and
ir.model.field, their views, menus, actions, access rights and messages in
ir.model.data, and the translations of all of them.  take_over() gives
them to meter_service before its XML is loaded, so that the XML updates
the records it finds instead of creating a second menu, view or action,
and so that meter_base's own update, which deletes at its very end the
records of meter_base no longer in its XML, finds none of them.

The XML ids moved are those meter_service's own XML files define, read
from the files themselves so that the list can not drift from them.
"""
import os
from xml.etree import ElementTree

from trytond import backend
from trytond.model import ModelSQL
from trytond.modules import get_module_info
from trytond.pool import Pool
from trytond.tools import file_open, grouped_slice, resolve
from trytond.transaction import Transaction


def xml_ids(module):
    "Return the ids of the records and menus of module's XML files"
    ids = set()
    for filename in get_module_info(module).get('xml', []):
        with file_open(os.path.join(module, filename), 'rb') as fp:
            tree = ElementTree.parse(fp)
        for element in tree.iter():
            id_ = element.get('id')
            if (element.tag in {'record', 'menuitem'}
                    and id_ and '.' not in id_):
                ids.add(id_)
    return ids


def models(module):
    "Return the names of the models module defines (not those it extends)"
    names = set()
    for cls in Pool.classes['model'].get(module, {}):
        if isinstance(cls, str):
            cls = resolve(f'trytond.modules.{module}.{cls}')
        if issubclass(cls, ModelSQL):
            names.add(cls.__name__)
    return names


def take_over(module, previous):
    """Give to module what previous owns of module's models and XML ids.

    Run again, it finds nothing left to move."""
    pool = Pool()
    ModelData = pool.get('ir.model.data')
    Model = pool.get('ir.model')
    ModelField = pool.get('ir.model.field')
    Translation = pool.get('ir.translation')
    View = pool.get('ir.ui.view')
    cursor = Transaction().connection.cursor()
    size = backend.MAX_QUERY_PARAMS
    model_data = ModelData.__table__()
    ir_model = Model.__table__()
    ir_model_field = ModelField.__table__()
    translation = Translation.__table__()
    view = View.__table__()

    fs_ids = xml_ids(module)
    names = models(module)

    records = []
    for sub_ids in grouped_slice(fs_ids, size):
        cursor.execute(*model_data.select(
                model_data.id, model_data.model, model_data.db_id,
                where=(model_data.module == previous)
                & model_data.fs_id.in_(list(sub_ids))))
        records.extend(cursor)
    if not records and not names:
        return

    # The translations of a record are keyed by its model and id, those of
    # an action by ir.action too, as translation_import reads them
    record_keys = set()
    for _, model, db_id in records:
        if db_id is None:
            continue
        record_keys.add((model, db_id))
        for extra in Translation.extra_model_data(ModelData(model=model)):
            record_keys.add((extra, db_id))
    cursor.execute(*translation.select(
            translation.id, translation.name, translation.type,
            translation.res_id,
            where=translation.module == previous))
    translation_ids = []
    for id_, name, type_, res_id in cursor:
        model, _, field = (name or '').partition(',')
        if ((type_ in {'field', 'help', 'selection'} and model in names)
                or (type_ == 'view' and name in names)
                or (type_ == 'model' and (
                        (model in names and field == 'string'
                            and res_id in {-1, 0, None})
                        or (model, res_id) in record_keys))):
            translation_ids.append(id_)

    view_ids = [db_id for _, model, db_id in records
        if model == 'ir.ui.view' and db_id is not None]
    for sub_ids in grouped_slice(view_ids, size):
        cursor.execute(*view.update([view.module], [module],
                where=(view.module == previous)
                & view.id.in_(list(sub_ids))))
    for sub_ids in grouped_slice(translation_ids, size):
        cursor.execute(*translation.update(
                [translation.module], [module],
                where=translation.id.in_(list(sub_ids))))
    if names:
        cursor.execute(*ir_model.update([ir_model.module], [module],
                where=(ir_model.module == previous)
                & ir_model.name.in_(list(names))))
        cursor.execute(*ir_model_field.update(
                [ir_model_field.module], [module],
                where=(ir_model_field.module == previous)
                & ir_model_field.model.in_(list(names))))
    for sub_ids in grouped_slice([id_ for id_, _, _ in records], size):
        cursor.execute(*model_data.update([model_data.module], [module],
                where=model_data.id.in_(list(sub_ids))))
    ModelData._get_id_cache.clear()
    ModelData._has_model_cache.clear()

