"""A small OpenAI-compatible chat-completions server for tests and the decide benchmark.

It runs ``http.server.ThreadingHTTPServer`` on 127.0.0.1 (an ephemeral port) in a thread and answers
``POST /v1/chat/completions``. What it does for a request is scripted per prompt: ``script(prompt,
attempt)`` (attempt 1 for the first request carrying that prompt) returns one of

- ``"ok"``: 200 with a structured completion derived from the prompt (deterministic);
- ``"bad_grammar"``: 200 with well-formed JSON whose completion ignores the answer format;
- ``"429"`` / ``"500"`` / ``"503"`` / ``"404"``: that status (429 with ``Retry-After: 0``);
- ``"slow"``: waits ``slow_s`` seconds, then answers ``"ok"`` (to a client that may have gone);
- ``"garbage"``: 200 with a body that is not JSON; ``"no_choices"``: 200 with ``{"choices": []}``;
- ``"no_markers"``: 200 with the structured completion but without DSPy's field markers.

A request written by DSPy's ChatAdapter (its last message asks for the ``[[ ## completed ## ]]``
marker) is answered in that format: ``[[ ## completion ## ]]``, the structured completion, then
``[[ ## completed ## ]]`` (:func:`dspy_answer`).

It counts every request (``requests``), keeps the parsed bodies and headers (``bodies``,
``headers``), and the largest number of requests it was serving at once (``max_in_flight``).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from janus_core.data.events import EVENT_TYPES
from janus_core.decide.decisions import format_completion

Script = Callable[[str, int], str]


def answer(prompt: str) -> str:
    """The deterministic structured completion the server gives for a prompt text."""
    digest = hashlib.sha256(prompt.encode("utf-8")).digest()
    action = ("long", "short", "hold")[digest[0] % 3]
    etype = EVENT_TYPES[digest[1] % len(EVENT_TYPES)]
    car = (digest[2] - 128) / 4000.0
    return format_completion(
        action,
        etype,
        "weak" if action == "hold" else "strong",
        car,
        "The test server read the news.",
        f"It expects a CAR of {car:+.4f}.",
    )


DSPY_DONE = "[[ ## completed ## ]]"


def dspy_answer(prompt: str) -> str:
    """:func:`answer` as DSPy's ChatAdapter expects it: in the ``completion`` output field."""
    return f"[[ ## completion ## ]]\n{answer(prompt)}\n\n{DSPY_DONE}"


class ChatServer:
    """Context manager: ``with ChatServer(script) as srv: srv.url`` (``http://127.0.0.1:PORT/v1``)."""

    def __init__(
        self,
        script: Script | None = None,
        *,
        slow_s: float = 1.0,
        fingerprint: str | None = "fp_test_1",
        model: str = "test-model",
    ) -> None:
        self.script: Script = script or (lambda prompt, attempt: "ok")
        self.slow_s, self.fingerprint, self.model = slow_s, fingerprint, model
        self.requests = 0
        self.bodies: list[dict] = []
        self.headers: list[dict[str, str]] = []
        self.attempts: dict[str, int] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> "ChatServer":
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def _send(self, status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    for k, v in (extra or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                with owner._lock:
                    owner.requests += 1
                    owner.in_flight += 1
                    owner.max_in_flight = max(owner.max_in_flight, owner.in_flight)
                try:
                    self._answer(raw)
                finally:
                    with owner._lock:
                        owner.in_flight -= 1

            def _answer(self, raw: bytes) -> None:
                if not self.path.endswith("/chat/completions"):
                    self._send(404, b'{"error": "not found"}')
                    return
                body = json.loads(raw)
                prompt = "\n".join(m["content"] for m in body["messages"])
                with owner._lock:
                    owner.bodies.append(body)
                    owner.headers.append(dict(self.headers))
                    attempt = owner.attempts.get(prompt, 0) + 1
                    owner.attempts[prompt] = attempt
                action = owner.script(prompt, attempt)
                if action == "slow":
                    time.sleep(owner.slow_s)
                    action = "ok"
                if action in ("429", "500", "503", "404"):
                    extra = {"Retry-After": "0"} if action == "429" else None
                    self._send(int(action), json.dumps({"error": {"message": f"scripted {action}"}}).encode(), extra)
                    return
                if action == "garbage":
                    self._send(200, b"<html>upstream proxy error</html>")
                    return
                if action == "no_choices":
                    self._send(200, b'{"choices": []}')
                    return
                dspy_request = DSPY_DONE in body["messages"][-1]["content"]
                if action == "bad_grammar":
                    content = "I would probably buy this stock."
                elif dspy_request and action != "no_markers":
                    content = dspy_answer(prompt)
                else:
                    content = answer(prompt)
                payload = {
                    "id": "chatcmpl-test",
                    "object": "chat.completion",
                    "created": 0,
                    "model": owner.model,
                    "system_fingerprint": owner.fingerprint,
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                    ],
                    "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                }
                self._send(200, json.dumps(payload).encode())

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="chat-server", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
