"""OpenAI-compatible chat completions with a cache in the research store.

The client speaks the chat-completions protocol over HTTP with the standard library
(``urllib.request``), so any compatible server works: vLLM, llama.cpp's server, Ollama, a hosted API.

Request: ``POST {base_url}/chat/completions`` with JSON ``{"model", "messages", "temperature",
"seed", "max_tokens"[, "top_p"]}`` and, when the environment variable ``api_key_env`` is set, the
header ``Authorization: Bearer <key>`` (the key is never read from a flag or a file). Response: the
completion is ``choices[0].message.content``; ``system_fingerprint`` (when the endpoint reports one),
``model`` and ``choices[0].finish_reason`` are recorded.

Failures
--------
- HTTP 408, 429 and 5xx, timeouts, dropped connections and malformed bodies (not JSON, or no text
  content) are retried up to ``max_retries`` times; the wait before retry ``k`` (1-based) is
  ``min(backoff_max_s, Retry-After)`` when the server sends ``Retry-After`` in seconds, else
  ``min(backoff_max_s, backoff_s * 2 ** (k - 1))``. A prompt still failing after that gets a
  :class:`Completion` with ``text`` None and ``error`` set: it becomes a malformed decision (scored
  by the format term), is not cached, and the next run asks again.
- Any other HTTP status (400, 401, 404, ...) means every request will fail the same way (wrong
  model name, missing key): :class:`EndpointError` stops the run with one line. So does an endpoint
  that refuses the connection or whose host does not resolve ("unreachable").

Cache
-----
Completions are cached in the store's ``completions`` table (``store.cached_completions``) under
(``model_id``, endpoint fingerprint, prompt hash, ``H(sampling params)``): a prompt seen before
under the same model and parameters is never sent again unless ``refresh`` is set. Completed
requests are written to the cache as they arrive (every ``CACHE_FLUSH_ROWS`` results or
``CACHE_FLUSH_SECONDS`` seconds, and at the end, also when the run stops on an error), so an
interrupted run loses at most a few seconds of what it paid for.

Throughput
----------
``concurrency`` requests are in flight at once (threads); ``requests_per_second`` spaces request
starts at least ``1 / requests_per_second`` apart across all threads (:class:`RateLimiter`).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from janus_core.data.store import cached_completions, put_completions
from janus_core.hashing import H, canonical_json

#: Completed requests are written to the cache once this many are buffered ...
CACHE_FLUSH_ROWS = 256
#: ... or this many seconds after the last write (opening the store and inserting costs ~0.1 s, so
#: a fast local server is not slowed down; a crash loses at most this much paid-for work).
CACHE_FLUSH_SECONDS = 2.0
RETRY_STATUSES: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})


class EndpointError(RuntimeError):
    """The endpoint cannot serve this run (unreachable, or a non-retryable HTTP status)."""


class EndpointConfig(BaseModel):
    """An OpenAI-compatible chat-completions endpoint and how to call it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(min_length=1, description="Model name the endpoint serves.")
    base_url: str = Field(
        min_length=1, description="Base URL, e.g. http://127.0.0.1:8000/v1 (or the full .../chat/completions URL)."
    )
    api_key_env: str = Field("OPENAI_API_KEY", description="Environment variable holding the API key (unset: no key).")
    temperature: float = Field(0.0, ge=0.0, description="0: the most likely completion, for reproducible decisions.")
    seed: int | None = Field(20260219, description="Sampling seed sent to endpoints that honour it (a fixed date).")
    max_tokens: int = Field(1024, ge=1, description="Completion length cap: the structured answer needs a few hundred.")
    top_p: float | None = Field(None, gt=0.0, le=1.0, description="Nucleus sampling; None leaves the endpoint default.")
    concurrency: int = Field(4, ge=1, description="Requests in flight at once.")
    requests_per_second: float | None = Field(
        None, gt=0.0, description=("Cap on request starts per second (None: no cap).")
    )
    timeout_s: float = Field(120.0, gt=0.0, description="Seconds to wait for one response before retrying.")
    max_retries: int = Field(
        5, ge=0, description=("Retries after the first attempt on 408/429/5xx, timeouts, malformed bodies.")
    )
    backoff_s: float = Field(1.0, ge=0.0, description="First retry wait; doubles each retry.")
    backoff_max_s: float = Field(60.0, ge=0.0, description="Longest wait between retries (also caps Retry-After).")
    fingerprint: str | None = Field(
        None,
        description=("Use only cached completions the endpoint reported under this system_fingerprint (None: any)."),
    )

    @property
    def model_id(self) -> str:
        """``openai:MODEL@BASE_URL`` (trailing slashes dropped): the cache's and the lineage's model identity."""
        return f"openai:{self.model}@{self.base_url.rstrip('/')}"

    @property
    def url(self) -> str:
        base = self.base_url.rstrip("/")
        return base if base.endswith("/chat/completions") else base + "/chat/completions"

    def sampling(self) -> dict[str, Any]:
        """The sampling parameters sent with every request (None values left out)."""
        params = {
            "temperature": self.temperature,
            "seed": self.seed,
            "max_tokens": self.max_tokens,
            "top_p": self.top_p,
        }
        return {k: v for k, v in params.items() if v is not None}

    def params_hash(self) -> str:
        return H(self.sampling())


@dataclass(frozen=True)
class Completion:
    """One prompt's outcome: ``text`` (None when it failed, with ``error`` saying why),
    ``fingerprint`` (``""`` when none reported), ``attempts`` (HTTP requests made for it; 0 when
    ``cached``)."""

    prompt_hash: str
    text: str | None
    fingerprint: str
    response_model: str | None
    finish_reason: str | None
    error: str | None
    attempts: int
    cached: bool


@dataclass
class RunStats:
    """What a run cost: prompts, cache hits, HTTP requests sent, prompts that failed, wall seconds."""

    prompts: int = 0
    cache_hits: int = 0
    requests: int = 0
    failures: int = 0
    seconds: float = 0.0

    @property
    def cache_hit_rate(self) -> float | None:
        return self.cache_hits / self.prompts if self.prompts else None

    @property
    def requests_per_second(self) -> float | None:
        return self.requests / self.seconds if self.seconds > 0 and self.requests else None


class RateLimiter:
    """Spaces events at least ``1 / rate`` seconds apart across threads: each :meth:`acquire`
    reserves the next free slot ``max(now, previous slot + 1/rate)`` and sleeps until it. ``rate``
    None never waits. ``clock`` and ``sleep`` are injectable for tests."""

    def __init__(
        self,
        rate: float | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 0.0 if rate is None else 1.0 / rate
        self._clock, self._sleep = clock, sleep
        self._next: float | None = None
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait for the next slot; returns the seconds waited."""
        if self.interval == 0.0:
            return 0.0
        with self._lock:
            now = self._clock()
            slot = now if self._next is None else max(now, self._next)
            self._next = slot + self.interval
        wait_s = slot - now
        if wait_s > 0:
            self._sleep(wait_s)
        return wait_s


def backoff_delay(retry: int, cfg: EndpointConfig, retry_after: str | None = None) -> float:
    """Seconds to wait before retry number ``retry`` (1-based): ``Retry-After`` (seconds) when
    given, else ``backoff_s * 2 ** (retry - 1)``; at most ``backoff_max_s``."""
    if retry_after is not None:
        try:
            return min(cfg.backoff_max_s, max(0.0, float(retry_after.strip())))
        except ValueError:
            pass  # an HTTP-date: fall back to exponential backoff
    return min(cfg.backoff_max_s, cfg.backoff_s * 2 ** (retry - 1))


class _Retry(Exception):
    def __init__(self, reason: str, retry_after: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.retry_after = reason, retry_after


def parse_response(body: bytes) -> tuple[str, str, str | None, str | None]:
    """``(content, fingerprint, model, finish_reason)`` of a chat-completions response body;
    raises ``ValueError`` naming what is missing."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"body is not JSON ({exc.__class__.__name__})") from None
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list) or not data["choices"]:
        raise ValueError("body has no choices")
    choice = data["choices"][0]
    message = choice.get("message") if isinstance(choice, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str):
        raise ValueError("choices[0].message.content is not text")
    fp = data.get("system_fingerprint")
    model = data.get("model")
    reason = choice.get("finish_reason")
    return (
        content,
        fp if isinstance(fp, str) else "",
        model if isinstance(model, str) else None,
        reason if isinstance(reason, str) else None,
    )


def _unreachable(exc: BaseException) -> bool:
    """A connection that was refused or a host that does not resolve: the endpoint is not there."""
    return isinstance(exc, (ConnectionRefusedError, socket.gaierror)) or (
        isinstance(exc, OSError) and getattr(exc, "errno", None) in (101, 113)
    )  # ENETUNREACH, EHOSTUNREACH


class ChatClient:
    """Sends chat-completions requests for one :class:`EndpointConfig`; counts every HTTP request
    (``requests``, thread-safe)."""

    def __init__(self, cfg: EndpointConfig, sleep: Callable[[float], None] = time.sleep) -> None:
        self.cfg = cfg
        self.limiter = RateLimiter(cfg.requests_per_second)
        self._sleep = sleep
        self._lock = threading.Lock()
        self.requests = 0
        key = os.environ.get(cfg.api_key_env, "").strip()
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if key:
            self._headers["Authorization"] = f"Bearer {key}"

    def _attempt(self, body: bytes) -> tuple[str, str, str | None, str | None]:
        self.limiter.acquire()
        with self._lock:
            self.requests += 1
        request = urllib.request.Request(self.cfg.url, data=body, headers=self._headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.cfg.timeout_s) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:200].decode("utf-8", "replace").replace("\n", " ").strip()
            if exc.code in RETRY_STATUSES:
                raise _Retry(f"HTTP {exc.code}", exc.headers.get("Retry-After") if exc.headers else None) from None
            raise EndpointError(
                f"endpoint {self.cfg.url} answered HTTP {exc.code} for model {self.cfg.model!r}"
                + (f": {detail}" if detail else "")
            ) from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, BaseException) and _unreachable(exc.reason):
                raise EndpointError(f"endpoint {self.cfg.url} is unreachable: {exc.reason}") from None
            raise _Retry(f"connection error ({exc.reason})") from None
        except (TimeoutError, socket.timeout):
            raise _Retry(f"no response within {self.cfg.timeout_s:g} s") from None
        except (http.client.HTTPException, ConnectionError) as exc:
            if _unreachable(exc):
                raise EndpointError(f"endpoint {self.cfg.url} is unreachable: {exc}") from None
            raise _Retry(f"connection dropped ({exc.__class__.__name__})") from None
        try:
            return parse_response(raw)
        except ValueError as exc:
            raise _Retry(f"malformed response: {exc}") from None

    def complete(self, prompt_hash: str, messages: Sequence[dict[str, str]]) -> Completion:
        """One prompt, with retries (module docstring). Raises :class:`EndpointError` only for the
        run-stopping failures."""
        body = json.dumps(
            {"model": self.cfg.model, "messages": list(messages), **self.cfg.sampling()}, ensure_ascii=False
        ).encode("utf-8")
        attempts = 0
        while True:
            attempts += 1
            try:
                text, fp, model, reason = self._attempt(body)
                return Completion(prompt_hash, text, fp, model, reason, None, attempts, False)
            except _Retry as exc:
                if attempts > self.cfg.max_retries:
                    return Completion(
                        prompt_hash,
                        None,
                        "",
                        None,
                        None,
                        f"endpoint: {exc.reason} after {attempts} attempt(s)",
                        attempts,
                        False,
                    )
                self._sleep(backoff_delay(attempts, self.cfg, exc.retry_after))


@dataclass
class _Flusher:
    cfg: EndpointConfig
    paths: Any
    messages: dict[str, list[dict[str, str]]]
    pending: list[Completion] = field(default_factory=list)
    last: float = field(default_factory=time.monotonic)

    def add(self, c: Completion) -> None:
        if c.text is not None and not c.cached:
            self.pending.append(c)
        if len(self.pending) >= CACHE_FLUSH_ROWS or time.monotonic() - self.last >= CACHE_FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        self.last = time.monotonic()
        if not self.pending:
            return
        now = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
        params = self.cfg.sampling()
        put_completions(
            [
                {
                    "model_id": self.cfg.model_id,
                    "fingerprint": c.fingerprint,
                    "prompt_hash": c.prompt_hash,
                    "params_hash": H(params),
                    "params": canonical_json(params),
                    "messages": canonical_json(self.messages[c.prompt_hash]),
                    "completion": c.text,
                    "response_model": c.response_model,
                    "finish_reason": c.finish_reason,
                    "created_at": now,
                }
                for c in self.pending
            ],
            self.paths,
        )
        self.pending = []


def complete_all(
    cfg: EndpointConfig,
    prompts: Sequence[tuple[str, Sequence[dict[str, str]]]],
    paths: Any = None,
    *,
    refresh: bool = False,
    use_cache: bool = True,
    progress: Callable[[int, int], None] | None = None,
    client: ChatClient | None = None,
) -> tuple[list[Completion], RunStats]:
    """Completions of ``prompts`` (``(prompt_hash, messages)`` pairs), in input order, and the
    run's :class:`RunStats`. Prompts with equal hashes are asked once. Cached completions are
    used unless ``refresh`` (or ``use_cache`` is off, which neither reads nor writes the store).
    ``progress(done, total)`` is called after every prompt."""
    started = time.perf_counter()
    client = client or ChatClient(cfg)
    messages = {h: [dict(m) for m in msgs] for h, msgs in prompts}
    unique = list(messages)
    results: dict[str, Completion] = {}
    if use_cache and not refresh:
        for h, row in cached_completions(cfg.model_id, cfg.params_hash(), unique, cfg.fingerprint, paths).items():
            results[h] = Completion(
                h, row["completion"], row["fingerprint"], row["response_model"], row["finish_reason"], None, 0, True
            )
    hits = len(results)
    todo = [h for h in unique if h not in results]
    done = len(results)
    if progress is not None:
        progress(done, len(unique))
    flusher = _Flusher(cfg, paths, messages)
    pool = ThreadPoolExecutor(max_workers=cfg.concurrency, thread_name_prefix="janus-decide")
    try:
        futures: dict[Future[Completion], str] = {pool.submit(client.complete, h, messages[h]): h for h in todo}
        remaining = set(futures)
        while remaining:
            finished, remaining = wait(remaining, return_when=FIRST_COMPLETED)
            for fut in finished:
                c = fut.result()  # EndpointError propagates and stops the run
                results[c.prompt_hash] = c
                if use_cache:
                    flusher.add(c)
                done += 1
                if progress is not None:
                    progress(done, len(unique))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if use_cache:
            flusher.flush()
    ordered = [results[h] for h, _ in prompts]
    stats = RunStats(
        prompts=len(unique),
        cache_hits=hits,
        requests=client.requests,
        failures=sum(1 for h in unique if results[h].text is None),
        seconds=time.perf_counter() - started,
    )
    return ordered, stats
