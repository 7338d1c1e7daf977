from sql import Null, Union

from trytond.cache import Cache
from trytond.model import ModelSQL, fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction


class User(metaclass=PoolMeta):
    __name__ = 'res.user'
    meter_campuses = fields.Many2Many(
        'res.user-meter.campus', 'user', 'campus', "Meter Campuses",
        help="The campuses whose records the user may see, "
        "besides those of their posts.")
    posts = fields.Many2Many(
        'res.user-meter.post', 'user', 'post', "Posts",
        help="The posts the user holds: they give their groups and "
        "campuses.")
    department = fields.Function(fields.Many2One(
            'meter.department', "Department",
            help="The department of the user's first post."),
        'get_department', searcher='search_department')
    campuses = fields.Function(fields.Many2Many(
            'meter.campus', None, None, "Campuses",
            help="The campuses of the user and of their posts: "
            "the campus record rules show them theirs."),
        'get_campuses')
    all_groups = fields.Function(fields.Many2Many(
            'res.group', None, None, "All Groups",
            help="The groups the user holds: their own, those of their "
            "posts and those these imply."),
        'get_all_groups', searcher='search_all_groups')
    _get_meter_campuses_cache = Cache(
        'res_user.get_meter_campuses', context=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._preferences_fields += ['department', 'posts']

    def get_department(self, name):
        posts = sorted((p for p in self.posts if p.active),
            key=lambda p: (p.department.code, p.name))
        return posts[0].department.id if posts else None

    @classmethod
    def search_department(cls, name, clause):
        return [('posts.department' + clause[0][len(name):],
                *clause[1:])]

    def get_campuses(self, name):
        campuses = {c.id for c in self.meter_campuses}
        for post in self.posts:
            if post.active:
                campuses.update(c.id for c in post.campuses)
        return sorted(campuses)

    @classmethod
    def get_all_groups(cls, users, name):
        pool = Pool()
        UserGroup = pool.get('res.user-res.group')
        result = {u.id: [] for u in users}
        user_group = UserGroup.user_group_all_table()
        cursor = Transaction().connection.cursor()
        cursor.execute(*user_group.select(
                user_group.user, user_group.group,
                where=user_group.user.in_(list(result)),
                group_by=[user_group.user, user_group.group],
                order_by=[user_group.group.asc]))
        for user, group in cursor:
            result[user].append(group)
        return result

    @classmethod
    def search_all_groups(cls, name, clause):
        "Search the users holding groups directly or through their posts"
        pool = Pool()
        Group = pool.get('res.group')
        UserGroup = pool.get('res.user-res.group')
        _, operator, operand, *extra = clause
        user_group = UserGroup.user_group_all_table()
        target = clause[0][len(name) + 1:] or 'id'
        groups = Group.search([(target, operator, operand, *extra)],
            query=True)
        return [('id', 'in', user_group.select(
                    user_group.user,
                    where=user_group.group.in_(groups)))]

    @classmethod
    def get_meter_campuses(cls):
        """Return the ids of the campuses of the current user: those set on
        the user and those of their active posts"""
        pool = Pool()
        Post = pool.get('meter.post')
        UserCampus = pool.get('res.user-meter.campus')
        transaction = Transaction()
        user_id = transaction.user
        if not user_id:
            return []
        campuses = cls._get_meter_campuses_cache.get(user_id)
        if campuses is not None:
            return list(campuses)
        user_campus = UserCampus.__table__()
        user_campuses = Union(
            user_campus.select(
                user_campus.user.as_('user'),
                user_campus.campus.as_('campus')),
            Post.user_campus_table())
        cursor = transaction.connection.cursor()
        cursor.execute(*user_campuses.select(
                user_campuses.campus,
                where=user_campuses.user == user_id,
                order_by=[user_campuses.campus.asc]))
        campuses = tuple(c for c, in cursor)
        return list(cls._get_meter_campuses_cache.set(user_id, campuses))

    @classmethod
    def get_preferences_fields_view(cls):
        # The department and the posts are shown to the user, set by the
        # managers
        result = super().get_preferences_fields_view()
        for name in ['department', 'posts']:
            if name in result['fields']:
                result['fields'][name]['readonly'] = True
        return result

    @classmethod
    def set_preferences(cls, values):
        values = {k: v for k, v in values.items()
            if k not in {'department', 'posts'}}
        super().set_preferences(values)


class UserCampus(ModelSQL):
    "User - Campus"
    __name__ = 'res.user-meter.campus'
    user = fields.Many2One(
        'res.user', "User", required=True, ondelete='CASCADE')
    campus = fields.Many2One(
        'meter.campus', "Campus", required=True, ondelete='CASCADE')

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        pool = Pool()
        User = pool.get('res.user')
        super().on_modification(mode, records, field_names=field_names)
        User._get_meter_campuses_cache.clear()


class UserGroup(metaclass=PoolMeta):
    __name__ = 'res.user-res.group'

    @classmethod
    def user_group_all_table(cls):
        # The groups of the user's active posts count as theirs, with the
        # groups they imply, for every access check (res.user's
        # get_groups reads this table).
        pool = Pool()
        Group = pool.get('res.group')
        Post = pool.get('meter.post')
        user_group = cls.__table__()
        user_groups = Union(
            user_group.select(
                user_group.user.as_('user'), user_group.group.as_('group')),
            Post.user_group_table())
        group_parents = Group.group_parent_all_cte()
        return (user_groups
            .join(group_parents,
                condition=user_groups.group == group_parents.id)
            .select(
                user_groups.user.as_('user'),
                group_parents.parent.as_('group'),
                where=group_parents.parent != Null,
                with_=group_parents))
