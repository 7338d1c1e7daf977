"""A JSON-RPC client of trytond that asks what sao asks, as sao asks it:
the session in the Authorization header, the user's context on every
call (tests and benchmarks that talk to a real server)"""
import base64
import http.client
import json


class Client:
    "A JSON-RPC client of trytond as sao is one"

    def __init__(self, port, database):
        self.connection = http.client.HTTPConnection(
            '127.0.0.1', port, timeout=120)
        self.database = database
        self.auth = None
        self.context = {}

    def __call__(self, method, *params):
        body = json.dumps({'id': 1, 'method': method, 'params': params})
        headers = {'Content-Type': 'application/json'}
        if self.auth:
            headers['Authorization'] = 'Session ' + self.auth
        self.connection.request(
            'POST', f'/{self.database}/rpc/', body, headers)
        response = self.connection.getresponse()
        content = json.loads(response.read())
        if response.status != 200 or content.get('error'):
            raise RuntimeError(f'{method}: {response.status} '
                f'{str(content.get("error"))[:500]}')
        return content['result']

    def login(self, login, password):
        user, session = self('common.db.login', login,
            {'password': password}, 'en')[:2]
        self.auth = base64.b64encode(
            f'{login}:{user}:{session}'.encode()).decode()
        self.context = self('model.res.user.get_preferences', True, {})

    def model(self, model, method, *params):
        return self(f'model.{model}.{method}', *params, self.context)
