"""A local HTTP receiver standing in for a chat service's incoming webhook: records every JSON POST
with the time it arrived; ``status`` is what it answers (set 500 to play a failing service)."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    def __init__(self) -> None:
        self.posts: list[tuple[float, dict[str, Any]]] = []  # (time.time() on arrival, body)
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.posts.append((time.time(), json.loads(body)))
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [b for _, b in self.posts]

    def wait_for(self, count: int, timeout_s: float) -> bool:
        end = time.time() + timeout_s
        while time.time() < end:
            if len(self.posts) >= count:
                return True
            time.sleep(0.2)
        return len(self.posts) >= count

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
