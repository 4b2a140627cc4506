"""The OpenAI-compatible client and the completion cache, against a chat-completions server the test
starts on 127.0.0.1 (tests/chat_server.py): retries on 429/5xx, slow responses and malformed
bodies, one-line errors for an unreachable endpoint or a wrong model, and a cache that makes a
re-run send zero requests. This exercises the protocol; a real server is called the same way."""

from __future__ import annotations

import socket

import pytest
from chat_server import ChatServer, answer

from janus_core.data import store
from janus_core.decide.completions import (
    ChatClient,
    EndpointConfig,
    EndpointError,
    RateLimiter,
    backoff_delay,
    complete_all,
    parse_response,
)
from janus_core.decide.decisions import parse_completion
from janus_core.decide.prompts import messages
from janus_core.hashing import H
from janus_core.paths import WorkbenchPaths

FAST = {"backoff_s": 0.0, "timeout_s": 5.0}


def _prompts(n: int, tag: str = "") -> list[tuple[str, list[dict[str, str]]]]:
    out = []
    for i in range(n):
        msgs = messages("You decide.", f"Headline: event {i}{tag}")
        out.append((H(msgs), msgs))
    return out


def _text(msgs: list[dict[str, str]]) -> str:
    return "\n".join(m["content"] for m in msgs)


@pytest.fixture
def paths(tmp_path):
    return WorkbenchPaths(data_dir=tmp_path / "data", manifest_dir=tmp_path / "manifests", store=tmp_path / "s.duckdb")


def test_every_prompt_is_answered_in_order_with_the_protocol_fields(paths, monkeypatch):
    monkeypatch.setenv("JANUS_TEST_KEY", "sk-test-123")
    prompts = _prompts(12)
    with ChatServer() as srv:
        cfg = EndpointConfig(model="test-model", base_url=srv.url, api_key_env="JANUS_TEST_KEY", concurrency=3, **FAST)
        results, stats = complete_all(cfg, prompts, paths)
    assert [r.prompt_hash for r in results] == [h for h, _ in prompts]
    assert [r.text for r in results] == [answer(_text(m)) for _, m in prompts]
    assert all(parse_completion(r.text).format_ok for r in results)
    assert {r.fingerprint for r in results} == {"fp_test_1"} and {r.response_model for r in results} == {"test-model"}
    assert srv.requests == 12 and stats.requests == 12 and stats.cache_hits == 0 and stats.failures == 0
    body = srv.bodies[0]
    assert body["model"] == "test-model" and body["temperature"] == 0.0 and body["seed"] == 20260219
    assert body["max_tokens"] == 1024 and [m["role"] for m in body["messages"]] == ["system", "user"]
    assert {h.get("Authorization") for h in srv.headers} == {"Bearer sk-test-123"}
    assert srv.max_in_flight <= 3


def test_no_key_sends_no_authorization_header(paths, monkeypatch):
    monkeypatch.delenv("JANUS_TEST_KEY", raising=False)
    with ChatServer() as srv:
        complete_all(
            EndpointConfig(model="m", base_url=srv.url, api_key_env="JANUS_TEST_KEY", **FAST), _prompts(2), paths
        )
    assert all("Authorization" not in h for h in srv.headers)


@pytest.mark.parametrize(
    "script",
    [
        ["429", "500", "ok"],
        ["503", "429", "503", "ok"],
        ["garbage", "no_choices", "ok"],
        ["slow", "ok"],
    ],
)
def test_transient_failures_are_retried_until_an_answer(paths, script):
    prompts = _prompts(5)
    with ChatServer(lambda p, attempt: script[min(attempt, len(script)) - 1], slow_s=1.0) as srv:
        cfg = EndpointConfig(model="m", base_url=srv.url, concurrency=2, max_retries=5, backoff_s=0.0, timeout_s=0.3)
        results, stats = complete_all(cfg, prompts, paths)
    assert [r.text for r in results] == [answer(_text(m)) for _, m in prompts]
    assert all(r.attempts == len(script) for r in results)
    assert srv.requests == stats.requests == 5 * len(script)
    assert stats.failures == 0


def test_a_prompt_failing_every_retry_is_recorded_not_cached_and_asked_again(paths):
    prompts = _prompts(4)
    bad = prompts[1][1]
    with ChatServer(lambda p, attempt: "500" if p == _text(bad) else "ok") as srv:
        cfg = EndpointConfig(model="m", base_url=srv.url, max_retries=2, **FAST)
        results, stats = complete_all(cfg, prompts, paths)
        assert results[1].text is None and results[1].error == "endpoint: HTTP 500 after 3 attempt(s)"
        assert stats.failures == 1 and srv.requests == 3 + 3
        again, stats2 = complete_all(cfg, prompts, paths)
    assert stats2.cache_hits == 3 and stats2.requests == 3 and again[1].text is None
    assert srv.requests == 6 + 3


def test_a_completion_that_ignores_the_format_is_kept_and_cached(paths):
    prompts = _prompts(3)
    with ChatServer(lambda p, attempt: "bad_grammar") as srv:
        cfg = EndpointConfig(model="m", base_url=srv.url, **FAST)
        results, _ = complete_all(cfg, prompts, paths)
        _, stats = complete_all(cfg, prompts, paths)
    assert all(r.text == "I would probably buy this stock." for r in results)
    assert not parse_completion(results[0].text).format_ok
    assert stats.requests == 0 and stats.cache_hits == 3 and srv.requests == 3


def test_cache_rerun_makes_zero_requests_refresh_and_changed_parameters_miss(paths):
    prompts = _prompts(10)
    with ChatServer() as srv:
        cfg = EndpointConfig(model="m", base_url=srv.url, concurrency=4, **FAST)
        first, s1 = complete_all(cfg, prompts, paths)
        second, s2 = complete_all(cfg, prompts, paths)
        assert (s1.requests, s2.requests, s2.cache_hits, s2.cache_hit_rate) == (10, 0, 10, 1.0)
        assert [r.text for r in second] == [r.text for r in first] and all(r.cached for r in second)
        _, s3 = complete_all(cfg, prompts, paths, refresh=True)
        assert s3.requests == 10 and s3.cache_hits == 0
        _, s4 = complete_all(cfg.model_copy(update={"seed": 7}), prompts, paths)
        assert s4.requests == 10
        _, s5 = complete_all(cfg.model_copy(update={"max_tokens": 512}), prompts, paths)
        assert s5.requests == 10
        _, s6 = complete_all(cfg, _prompts(10, tag=" (edited template)"), paths)
        assert s6.requests == 10
        _, s7 = complete_all(cfg.model_copy(update={"fingerprint": "fp_other"}), prompts, paths)
        assert s7.requests == 10
        _, s8 = complete_all(cfg.model_copy(update={"concurrency": 1, "timeout_s": 9.0}), prompts, paths)
        assert s8.requests == 0  # throughput settings are not sampling parameters
    assert srv.requests == 60
    with store.connect(paths, read_only=True) as conn:
        rows = conn.execute("SELECT count(*), count(DISTINCT params_hash) FROM completions").fetchone()
    assert rows == (40, 3)  # refresh and the fp_other run replaced rows (the server reports fp_test_1)


def test_duplicate_prompts_are_asked_once(paths):
    p = _prompts(2)
    with ChatServer() as srv:
        results, stats = complete_all(EndpointConfig(model="m", base_url=srv.url, **FAST), [p[0], p[1], p[0]], paths)
    assert srv.requests == 2 and stats.prompts == 2 and results[0].text == results[2].text


def test_unreachable_endpoint_is_one_line():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = EndpointConfig(model="m", base_url=f"http://127.0.0.1:{port}/v1", **FAST)
    with pytest.raises(EndpointError) as info:
        complete_all(cfg, _prompts(3), use_cache=False)
    msg = str(info.value)
    assert msg.startswith(f"endpoint http://127.0.0.1:{port}/v1/chat/completions is unreachable") and "\n" not in msg


def test_a_non_retryable_status_stops_the_run_with_one_line(paths):
    with ChatServer(lambda p, attempt: "404") as srv:
        with pytest.raises(EndpointError, match=r"answered HTTP 404 for model 'nope': .*scripted 404"):
            complete_all(EndpointConfig(model="nope", base_url=srv.url, concurrency=1, **FAST), _prompts(3), paths)
    assert srv.requests >= 1


def test_parse_response_names_what_is_missing():
    assert parse_response(b'{"choices":[{"message":{"content":"x"},"finish_reason":"stop"}],"model":"m"}') == (
        "x",
        "",
        "m",
        "stop",
    )
    for body, msg in (
        (b"nope", "not JSON"),
        (b'{"choices": []}', "no choices"),
        (b'{"choices":[{"message":{"content":null}}]}', "not text"),
    ):
        with pytest.raises(ValueError, match=msg):
            parse_response(body)


def test_backoff_doubles_is_capped_and_honours_retry_after():
    cfg = EndpointConfig(model="m", base_url="http://x", backoff_s=0.5, backoff_max_s=3.0)
    assert [backoff_delay(k, cfg) for k in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert backoff_delay(1, cfg, "2") == 2.0 and backoff_delay(1, cfg, "100") == 3.0
    assert backoff_delay(2, cfg, "Wed, 21 Oct 2015 07:28:00 GMT") == 1.0


def test_rate_limiter_spaces_request_starts():
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    lim = RateLimiter(4.0, clock=lambda: now[0], sleep=sleep)
    starts = []
    for _ in range(5):
        lim.acquire()
        starts.append(now[0])
    assert starts == [0.0, 0.25, 0.5, 0.75, 1.0]
    now[0] = 10.0  # idle for a while: no debt carried over
    assert lim.acquire() == 0.0
    assert RateLimiter(None, clock=lambda: 0.0, sleep=sleep).acquire() == 0.0


def test_client_counts_requests_through_the_rate_limiter():
    with ChatServer() as srv:
        client = ChatClient(EndpointConfig(model="m", base_url=srv.url, requests_per_second=1000.0, **FAST))
        _, stats = complete_all(client.cfg, _prompts(4), use_cache=False, client=client)
    assert client.requests == stats.requests == srv.requests == 4
