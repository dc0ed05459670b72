"""`abm view RUN.h5 [RUN2.h5 | SWEEP_FOLDER ...]`: serve the run viewer (abm.view.page) with Solara.

Solara's own server (its Starlette app under uvicorn, as `solara run` does) runs in this process:
the run files are checked first (one-line errors, exit status 2, before anything listens), the
port is bound here (so a port in use is one line too, and --port 0 picks a free one before the
URL is printed), and then uvicorn serves on that socket until Ctrl-C.
"""
from __future__ import annotations

import os
import socket
import sys
import threading
import warnings

from ..errors import OutputError
from . import runs

APP = "abm.view.page:Page"
# Solara settings, as environment variables read when solara.server is imported. The user's own
# environment wins (setdefault).
SOLARA_ENV = {
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false",  # a local viewer of local files reports nothing anywhere
    "SOLARA_THEME_TITLE": "abm view",
    "SOLARA_MODE": "production",  # no hot reload: the app's modules are imported once
    # A closed tab's session (and its thread that polls the files) ends after this; Solara's default
    # keeps it a day, for reconnecting.
    "SOLARA_KERNEL_CULL_TIMEOUT": "2m",
}


def serve_runs(paths, host: str = "127.0.0.1", port: int = 8765, open_browser: bool = True) -> int:
    files = runs.resolve(paths)
    runs.to_env(files)
    return serve(APP, f"{len(files)} run{'s' if len(files) != 1 else ''}", host, port, open_browser)


def serve(app: str, what: str, host: str, port: int, open_browser: bool) -> int:
    """Serve the Solara page `app` ("module:Component") on host:port until Ctrl-C; `what` names it in
    the line that prints the URL. The run viewer and the live page (live.py) both start here."""
    sock = bind(host, port)
    url = url_of(host, sock.getsockname()[1])
    for key, value in SOLARA_ENV.items():
        os.environ.setdefault(key, value)
    os.environ["SOLARA_APP"] = app
    os.environ["SERVER_NAME"], os.environ["SERVER_PORT"] = host, str(sock.getsockname()[1])  # as `solara run` sets them
    _note_missing_assets()
    # Solara warns at each page load on plain http under a name other than localhost that it cannot
    # set a cookie for embedding in an iframe: nothing a local viewer needs.
    warnings.filterwarnings("ignore", message="Cookies with samesite=none", category=UserWarning)
    import uvicorn

    server = uvicorn.Server(uvicorn.Config("solara.server.starlette:app", log_level="warning",
                                           timeout_graceful_shutdown=3))
    print(f"abm view: {what} at {url}  (Ctrl-C to stop)", flush=True)
    if open_browser:
        threading.Thread(target=_open_when_started, args=(server, url), daemon=True).start()
    server.run(sockets=[sock])  # until Ctrl-C or SIGTERM (uvicorn then raises the signal again)
    return 0


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: a free one) for uvicorn to serve on, or a one-line error."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)  # a browser opened at once waits for the server (still importing Solara), not refused
    except OSError as error:
        raise OutputError(f"--host {host} --port {port}: cannot listen there ({error.strerror or error})") from None
    return sock


def url_of(host: str, port: int) -> str:
    if host in ("0.0.0.0", "::", ""):  # every address: this machine answers as localhost too
        host = "localhost"
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def _note_missing_assets() -> None:
    from . import assets

    if assets.missing():
        print("abm view: Solara's browser assets are not cached here: the page loads them through this server "
              "from the internet; offline, run: python -m abm.view.assets (needs npm)", file=sys.stderr, flush=True)


def _open_when_started(server, url: str) -> None:
    import time
    import webbrowser

    for _ in range(600):  # solara's first import takes seconds
        if server.started:
            webbrowser.open(url)
            return
        time.sleep(0.1)
