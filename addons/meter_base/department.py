"""Departments and posts (部门、岗位): what a staff user may do and where

A post carries groups and campuses; its holders get both.  The groups of
a user are those set on the user plus those of their active posts
(res.user-res.group's user_group_all_table, which every access check of
Tryton reads through res.user's get_groups), and the campuses of the
campus record rules are those set on the user plus those of their active
posts (res.user's get_meter_campuses).  So changing a post changes the
rights of every holder at once; the caches keyed on them are cleared
here.  Who holds a post and what it gives is logged (meter.post.log)."""
import datetime as dt

from sql import Literal

from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, Unique, fields, tree)
from trytond.pool import Pool
from trytond.transaction import Transaction, without_check_access

from .exceptions import PostDelegationError


def clear_rights_cache():
    "Forget the groups and campuses of every user (at commit elsewhere)"
    User = Pool().get('res.user')
    User._get_groups_cache.clear()
    User._get_meter_campuses_cache.clear()


def _own_groups():
    """Return the groups the user may give to a post, or None for the
    administrators, who may give any: the suite's groups (meter_*) and
    those the user has, so that no one gives what Administration alone
    may give"""
    pool = Pool()
    User = pool.get('res.user')
    ModelData = pool.get('ir.model.data')
    groups = set(User.get_groups())
    if ModelData.get_id('res', 'group_admin') in groups:
        return None
    with without_check_access():
        groups.update(d.db_id for d in ModelData.search([
                    ('model', '=', 'res.group'),
                    ('module', 'like', 'meter\\_%'),
                    ]))
    return groups


class Department(DeactivableMixin, tree(separator=' / '), ModelSQL, ModelView):
    "A department (部门) of the centre, e.g. a campus's branch or finance"
    __name__ = 'meter.department'
    name = fields.Char("Name", required=True)
    code = fields.Char("Code", required=True)
    parent = fields.Many2One(
        'meter.department', "Parent", ondelete='RESTRICT')
    children = fields.One2Many('meter.department', 'parent', "Children")
    manager = fields.Many2One(
        'res.user', "Manager", ondelete='SET NULL',
        help="The head of the department.")
    posts = fields.One2Many('meter.post', 'department', "Posts")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints = [
            ('code_unique', Unique(t, t.code),
                'meter_base.msg_department_code_unique'),
            ]
        cls._order.insert(0, ('code', 'ASC'))


class Post(DeactivableMixin, ModelSQL, ModelView):
    """A post (岗位): the groups and the campuses of its holders

    Deactivating a post takes its groups and campuses from its holders;
    a post once used is deactivated rather than deleted, as its log keeps
    it."""
    __name__ = 'meter.post'
    name = fields.Char("Name", required=True)
    department = fields.Many2One(
        'meter.department', "Department", required=True,
        ondelete='RESTRICT')
    groups = fields.Many2Many(
        'meter.post-res.group', 'post', 'group', "Groups",
        help="The rights of the post's holders.")
    campuses = fields.Many2Many(
        'meter.post-meter.campus', 'post', 'campus', "Campuses",
        help="The campuses whose records the post's holders see.")
    holders = fields.Many2Many(
        'res.user-meter.post', 'post', 'user', "Holders")
    logs = fields.One2Many('meter.post.log', 'post', "Log", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints = [
            ('department_name_unique', Unique(t, t.department, t.name),
                'meter_base.msg_post_name_unique'),
            ]
        cls._order[:0] = [('department', 'ASC'), ('name', 'ASC')]

    def get_rec_name(self, name):
        return '%s / %s' % (self.department.name, self.name)

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        if operator.startswith('!') or operator.startswith('not '):
            bool_op = 'AND'
        else:
            bool_op = 'OR'
        return [bool_op,
            ('name', operator, operand, *extra),
            ('department.name', operator, operand, *extra),
            ]

    @classmethod
    def on_write(cls, posts, values):
        PostLog = Pool().get('meter.post.log')
        callbacks = super().on_write(posts, values)
        if 'active' in values:
            changed = [p for p in posts if p.active != values['active']]
            action = 'activated' if values['active'] else 'deactivated'
            callbacks.append(lambda: PostLog.add([{
                            'action': action, 'post': p.id}
                        for p in changed]))
        return callbacks

    @classmethod
    def on_modification(cls, mode, posts, field_names=None):
        super().on_modification(mode, posts, field_names=field_names)
        if mode == 'delete' or 'active' in (field_names or []):
            clear_rights_cache()

    @classmethod
    def user_group_table(cls):
        "The users and the groups of their active posts, as a query"
        pool = Pool()
        UserPost = pool.get('res.user-meter.post')
        PostGroup = pool.get('meter.post-res.group')
        user_post = UserPost.__table__()
        post_group = PostGroup.__table__()
        post = cls.__table__()
        return (user_post
            .join(post, condition=user_post.post == post.id)
            .join(post_group, condition=post_group.post == post.id)
            .select(user_post.user.as_('user'), post_group.group.as_('group'),
                where=post.active == Literal(True)))

    @classmethod
    def user_campus_table(cls):
        "The users and the campuses of their active posts, as a query"
        pool = Pool()
        UserPost = pool.get('res.user-meter.post')
        PostCampus = pool.get('meter.post-meter.campus')
        user_post = UserPost.__table__()
        post_campus = PostCampus.__table__()
        post = cls.__table__()
        return (user_post
            .join(post, condition=user_post.post == post.id)
            .join(post_campus, condition=post_campus.post == post.id)
            .select(
                user_post.user.as_('user'), post_campus.campus.as_('campus'),
                where=post.active == Literal(True)))


class _LoggedRelation:
    """A relation of a post whose rows are logged as added and removed and
    change the rights of the post's holders"""
    __slots__ = ()
    _log_field = None  # the field beside post, also the log's field
    _log_name = None  # the log's actions: <name>_added, <name>_removed

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        if external:
            cls.check_delegation(records)
            if mode == 'write':
                cls.check_delegation([cls(**{
                                'post': r.post.id,
                                cls._log_field: getattr(
                                    r, cls._log_field).id,
                                **values})
                        for r in records])

    @classmethod
    def check_delegation(cls, records):
        "Check that the user may give or take what the records give"
        pass

    @classmethod
    def on_write(cls, records, values):
        callbacks = super().on_write(records, values)
        # A row moved to another post or target: removed, then added
        cls._log(records, 'removed')
        return callbacks

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        cls._log(records, 'removed' if mode == 'delete' else 'added')
        clear_rights_cache()

    @classmethod
    def _log(cls, records, change):
        PostLog = Pool().get('meter.post.log')
        PostLog.add([{
                    'action': '%s_%s' % (cls._log_name, change),
                    'post': r.post.id,
                    cls._log_field: getattr(r, cls._log_field).id,
                    } for r in records])


class PostGroup(_LoggedRelation, ModelSQL):
    "Post - Group"
    __name__ = 'meter.post-res.group'
    _log_field = 'group'
    _log_name = 'group'
    post = fields.Many2One(
        'meter.post', "Post", required=True, ondelete='CASCADE')
    group = fields.Many2One(
        'res.group', "Group", required=True, ondelete='CASCADE')

    @classmethod
    def check_delegation(cls, records):
        groups = _own_groups()
        if groups is None:
            return
        for record in records:
            if record.group.id not in groups:
                raise PostDelegationError(gettext(
                        'meter_base.msg_post_group_not_own',
                        post=record.post.rec_name,
                        group=record.group.rec_name))


class PostCampus(_LoggedRelation, ModelSQL):
    "Post - Campus"
    __name__ = 'meter.post-meter.campus'
    _log_field = 'campus'
    _log_name = 'campus'
    post = fields.Many2One(
        'meter.post', "Post", required=True, ondelete='CASCADE')
    campus = fields.Many2One(
        'meter.campus', "Campus", required=True, ondelete='CASCADE')


class UserPost(_LoggedRelation, ModelSQL):
    "User - Post"
    __name__ = 'res.user-meter.post'
    _log_field = 'user'
    _log_name = 'holder'
    user = fields.Many2One(
        'res.user', "User", required=True, ondelete='CASCADE')
    post = fields.Many2One(
        'meter.post', "Post", required=True, ondelete='CASCADE')

    @classmethod
    def check_delegation(cls, records):
        groups = _own_groups()
        if groups is None:
            return
        for record in records:
            for group in record.post.groups:
                if group.id not in groups:
                    raise PostDelegationError(gettext(
                            'meter_base.msg_post_holder_group_not_own',
                            post=record.post.rec_name,
                            group=group.rec_name))


class PostLog(ModelSQL, ModelView):
    """A change to a post: a holder, a group or a campus added or removed,
    the post deactivated or activated again; when and by whom"""
    __name__ = 'meter.post.log'
    date = fields.DateTime("Date", required=True, readonly=True)
    author = fields.Many2One(
        'res.user', "By", readonly=True, ondelete='SET NULL')
    post = fields.Many2One(
        'meter.post', "Post", required=True, readonly=True,
        ondelete='RESTRICT')
    action = fields.Selection([
            ('holder_added', "Holder Added"),
            ('holder_removed', "Holder Removed"),
            ('group_added', "Group Added"),
            ('group_removed', "Group Removed"),
            ('campus_added', "Campus Added"),
            ('campus_removed', "Campus Removed"),
            ('activated', "Activated"),
            ('deactivated', "Deactivated"),
            ], "Change", required=True, readonly=True)
    user = fields.Many2One(
        'res.user', "Holder", readonly=True, ondelete='SET NULL')
    group = fields.Many2One(
        'res.group', "Group", readonly=True, ondelete='SET NULL')
    campus = fields.Many2One(
        'meter.campus', "Campus", readonly=True, ondelete='SET NULL')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def add(cls, vlist):
        "Log the changes of vlist, made now by the user of the transaction"
        if not vlist:
            return []
        user = Transaction().user or None
        now = dt.datetime.now()
        with without_check_access():
            return cls.create([
                    {'date': now, 'author': user, **v} for v in vlist])
