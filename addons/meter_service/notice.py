import datetime as dt

from trytond.model import Index, ModelSQL, ModelView, Workflow, fields
from trytond.pyson import Bool, Eval, If


class Notice(Workflow, ModelSQL, ModelView):
    """A notice to residents (通知公告), e.g. a water or power outage.

    It concerns a campus, or a building (and everything inside it) of a
    campus, or everyone when neither is set; residents see the published
    notices concerning their accounts until a day after it ends.
    """
    __name__ = 'meter.notice'
    _states = {'readonly': Eval('state') != 'draft'}
    title = fields.Char("Title", required=True, states=_states)
    kind = fields.Selection([
            ('water_outage', "Water Outage"),
            ('power_outage', "Power Outage"),
            ('general', "General"),
            ], "Kind", required=True, states=_states)
    campus = fields.Many2One(
        'meter.campus', "Campus", ondelete='RESTRICT', states=_states,
        help="Leave empty for every campus.")
    location = fields.Many2One(
        'meter.location', "Location", ondelete='RESTRICT',
        domain=[If(Bool(Eval('campus')),
                ('campus', '=', Eval('campus', -1)), ())],
        states={
            'readonly': _states['readonly'],
            'invisible': ~Eval('campus'),
            },
        help="Limit the notice to this place and what it contains.")
    start = fields.DateTime("Start", states=_states)
    end = fields.DateTime(
        "End", states=_states,
        domain=['OR',
            ('end', '=', None),
            ('start', '=', None),
            ('end', '>=', Eval('start')),
            ])
    body = fields.Text("Body", required=True, states=_states)
    published_at = fields.DateTime("Published At", readonly=True)
    state = fields.Selection([
            ('draft', "Draft"),
            ('published', "Published"),
            ('cancelled', "Cancelled"),
            ], "State", readonly=True, required=True, sort=False)
    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('published_at', 'DESC NULLS FIRST'), ('id', 'DESC')]
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.state, Index.Equality(cardinality='low'))))
        cls._transitions |= {
            ('draft', 'published'),
            ('published', 'cancelled'),
            ('draft', 'cancelled'),
            ('cancelled', 'draft'),
            }
        cls._buttons.update({
                'publish': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': ~Eval('state').in_(['draft', 'published']),
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                'draft': {
                    'invisible': Eval('state') != 'cancelled',
                    'icon': 'tryton-undo',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_kind(cls):
        return 'general'

    @fields.depends('campus', 'location')
    def on_change_campus(self):
        if self.location and self.location.campus != self.campus:
            self.location = None

    @classmethod
    def current_domain(cls, campuses=(), locations=(), now=None):
        """Return the domain of the notices shown to the residents of the
        campuses and locations (ids)"""
        if now is None:
            now = dt.datetime.now()
        concerned = [('campus', '=', None)]
        if campuses:
            concerned.append([
                    ('campus', 'in', list(campuses)),
                    ('location', '=', None),
                    ])
        if locations:
            concerned.append(
                ('location', 'parent_of', list(locations), 'parent'))
        return [
            ('state', '=', 'published'),
            ['OR',
                ('end', '=', None),
                ('end', '>=', now - dt.timedelta(days=1)),
                ],
            ['OR', *concerned],
            ]

    @classmethod
    @ModelView.button
    @Workflow.transition('published')
    def publish(cls, notices):
        cls.write(notices, {
                'published_at': dt.datetime.now().replace(microsecond=0),
                })

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, notices):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('draft')
    def draft(cls, notices):
        cls.write(notices, {'published_at': None})
