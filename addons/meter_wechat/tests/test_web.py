"""The web layer as the staff's pages will use it: a page of visitor
Staff runs as the Tryton user of the session, with the access and record
rules on, and a resident's session is no staff's."""
import json
import unittest

from trytond.model.exceptions import AccessError
from trytond.modules.meter_wechat import session as sessions
from trytond.modules.meter_wechat.web import json_response, page
from trytond.modules.meter_wechat.visitor import Resident, Staff
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, RouteTestCase
from trytond.transaction import Transaction

PAGE = 'test-staff-page'


@page(PAGE, visitor=Staff, methods=('GET', 'POST'))
def staff_page(request, pool, visitor, values):
    "Tell as whom the page runs and whether it may read the residents"
    WeChatUser = pool.get('meter.wechat.user')
    try:
        WeChatUser.search([], limit=1)
        residents = True
    except AccessError:
        residents = False
    transaction = Transaction()
    return json_response({
            'user': transaction.user,
            'login': visitor.user.login,
            'check_access': bool(transaction.context.get('_check_access')),
            'language': transaction.language,
            'residents': residents,
            'csrf_token': values['csrf_token'],
            })


class StaffPageTestCase(RouteTestCase):
    "Test the pages of visitor Staff"
    module = 'meter_wechat'
    language = 'zh_CN'

    @classmethod
    def setUpDatabase(cls):
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        User.create([{
                    'login': 'desk', 'name': "Desk",
                    'groups': [('add', [ModelData.get_id(
                                    'meter_base', 'group_service_desk')])],
                    }, {
                    'login': 'outsider', 'name': "Outsider",
                    }])

    def url(self):
        return '/%s/field/%s' % (DB_NAME, PAGE)

    def cookie(self, login, visitor=Staff):
        "Return the session cookie of the user of login for visitor"
        with Transaction().start(DB_NAME, 0):
            pool = Pool()
            User = pool.get('res.user')
            Configuration = pool.get('meter.wechat.configuration')
            user, = User.search([('login', '=', login)])
            secret = visitor.secret(Configuration(1))
            _, cookie = sessions.encode(secret, user.id)
            return user.id, cookie

    def client_of(self, login):
        user_id, cookie = self.cookie(login)
        client = self.client()
        client.set_cookie(Staff.cookie, cookie)
        return user_id, client

    def test_runs_as_the_staff_user(self):
        "A staff page runs as its user with the access rules on"
        user_id, client = self.client_of('desk')
        response = client.get(self.url())
        self.assertEqual(response.status_code, 200, response.text)
        answer = json.loads(response.text)
        self.assertEqual(answer['user'], user_id)
        self.assertEqual(answer['login'], 'desk')
        self.assertTrue(answer['check_access'])
        self.assertEqual(answer['language'], 'zh_CN')
        self.assertTrue(answer['residents'])

    def test_access_rules_apply(self):
        "A staff user without the group may not read the residents"
        _, client = self.client_of('outsider')
        response = client.get(self.url())
        self.assertEqual(response.status_code, 200, response.text)
        self.assertFalse(json.loads(response.text)['residents'])

    def test_staff_csrf(self):
        "A staff page's form needs the token of the staff's session"
        _, client = self.client_of('desk')
        self.assertEqual(client.post(self.url()).status_code, 403)
        token = json.loads(client.get(self.url()).text)['csrf_token']
        response = client.post(self.url(), data={'csrf_token': token})
        self.assertEqual(response.status_code, 200, response.text)

    def test_no_session(self):
        "Without a staff session the page asks the staff to sign in"
        response = self.client().get(self.url())
        self.assertEqual(response.status_code, 401)
        self.assertIn('工作人员', response.text)

    def test_resident_session_refused(self):
        "A resident's session, even of the same id, is no staff session"
        user_id, cookie = self.cookie('desk', visitor=Resident)
        for name in [Staff.cookie, Resident.cookie]:
            with self.subTest(cookie=name):
                client = self.client()
                client.set_cookie(name, cookie)
                self.assertEqual(client.get(self.url()).status_code, 401)

    def test_root_refused(self):
        "The root user (0) never opens a staff page"
        with Transaction().start(DB_NAME, 0):
            Configuration = Pool().get('meter.wechat.configuration')
            cookie = Staff.open_session(Configuration(1), 0)
        client = self.client()
        client.set_cookie(Staff.cookie, cookie)
        self.assertEqual(client.get(self.url()).status_code, 401)


class QuantityTestCase(unittest.TestCase):
    "The readings and uses as the pages write them"

    def test_quantity(self):
        """With the meter's decimals, more only when the value has them:
        nothing is rounded away"""
        from decimal import Decimal
        from trytond.modules.meter_wechat.templating import quantity
        for value, decimals, text in [
                (Decimal('912.000'), 0, '912'),
                (Decimal('907.25'), 0, '907.25'),
                (Decimal('123.450'), 0, '123.45'),
                (Decimal('1200'), 0, '1200'),
                (Decimal('12.5'), 2, '12.50'),
                (Decimal('0.000'), 3, '0.000'),
                (None, 2, '—'),
                ]:
            self.assertEqual(quantity(value, decimals), text)


del RouteTestCase

if __name__ == '__main__':
    unittest.main()
