"""Local fakes of the remote services, served on loopback for the tests.

Each fake is a WSGI application run by werkzeug in a thread on a free
port; it speaks the documented protocol of the real service, checks the
credentials and records the calls for assertions.
"""
import logging
import threading

from werkzeug.serving import WSGIRequestHandler, make_server

__all__ = ['LoopbackServer']


class _QuietHandler(WSGIRequestHandler):
    "Keeps the test output free of access logs"

    def log(self, type, message, *args):
        logging.getLogger('tests.fakes').debug(message, *args)


class LoopbackServer:
    """Runs a WSGI application on 127.0.0.1 on a random free port.

    Use as a context manager or call start() and stop().
    """

    def __init__(self):
        self._server = None
        self._thread = None
        self.calls = []
        self._calls_lock = threading.Lock()

    def wsgi_app(self, environ, start_response):
        raise NotImplementedError

    def __call__(self, environ, start_response):
        return self.wsgi_app(environ, start_response)

    def record(self, **call):
        with self._calls_lock:
            self.calls.append(call)

    def calls_to(self, path):
        with self._calls_lock:
            return [c for c in self.calls if c['path'] == path]

    @property
    def url(self):
        "The base URL, ending with a slash"
        return 'http://127.0.0.1:%d/' % self._server.server_port

    def start(self):
        self._server = make_server(
            '127.0.0.1', 0, self, threaded=True,
            request_handler=_QuietHandler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={'poll_interval': 0.05},
            name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()
