"""Run the sandbox over real HTTP in a background thread (werkzeug's threaded server)."""
import threading

from werkzeug.serving import WSGIRequestHandler
from werkzeug.serving import make_server

from . import create_sandbox_app


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        """Do not print one line per request."""


class SandboxServer:
    """The sandbox on host:port (port 0 picks a free one); start() and stop()."""

    def __init__(self, state_path, *, email, token, host="127.0.0.1", port=0,
                 rate_limit=150, window=60.0, profile="full"):
        self.app = create_sandbox_app(state_path, email=email, token=token,
                                      rate_limit=rate_limit, window=window, profile=profile)
        self._server = make_server(host, port, self.app, threaded=True,
                                   request_handler=_QuietHandler)
        self.host, self.port = host, self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name=f"alegra-sandbox:{self.port}")

    @property
    def url(self):
        """Base URL of the emulated API."""
        return f"http://{self.host}:{self.port}/api/v1"

    @property
    def root(self):
        """Base URL of the server (for /_sandbox switches)."""
        return f"http://{self.host}:{self.port}"

    def start(self):
        """Serve in a daemon thread; return self."""
        self._thread.start()
        return self

    def stop(self):
        """Stop serving and close the state file."""
        self._server.shutdown()
        self._server.server_close()
        self.app.extensions["sandbox"]["store"].close()

    def serve_forever(self):
        """Serve in the current thread (the standalone CLI command)."""
        self._server.serve_forever()
