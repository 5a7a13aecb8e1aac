"""Rate limits with the real Redis cache shared by all web processes."""

from __future__ import annotations

import json
import time

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from reports.models import Report

pytestmark = pytest.mark.django_db


def _post(client, address):
    body = json.dumps({"service": "acme", "problem": "login", "country": "DE"})
    return client.post(
        "/api/v1/reports/", data=body, content_type="application/json", REMOTE_ADDR=address
    )


@pytest.fixture
def low_rate(throttle_rate):
    throttle_rate("reports", "3/min")


def test_client_over_the_rate_gets_429_with_retry_after(api_client, service, low_rate):
    statuses = [_post(api_client, "203.0.113.9").status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    response = _post(api_client, "203.0.113.9")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["code"] == "throttled"
    assert Report.objects.count() == 3


def test_retry_after_is_the_time_until_the_oldest_request_leaves_the_window(
    api_client, service, low_rate, monkeypatch
):
    # The sliding window frees a slot when its oldest request is a minute old: that, not the
    # whole minute (nor the time since), is the wait. Only "> 0" was checked, and a full minute
    # passed every test (mutation tester, forty-sixth session).
    from outagewatch.api.throttling import RedisRateThrottle

    clock = {"now": 1_000_000.0}
    monkeypatch.setattr(RedisRateThrottle, "timer", staticmethod(lambda: clock["now"]))
    for at in (0, 10, 20):
        clock["now"] = 1_000_000.0 + at
        assert _post(api_client, "203.0.113.19").status_code == 201
    clock["now"] = 1_000_045.0
    refused = _post(api_client, "203.0.113.19")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "15"  # the first report, at 0, leaves at 60
    clock["now"] = 1_000_060.5
    assert _post(api_client, "203.0.113.19").status_code == 201


def test_throttle_state_lives_in_redis_and_is_shared(service, low_rate):
    # Two separate clients stand in for two web processes: the count is shared.
    for _ in range(3):
        assert _post(APIClient(), "203.0.113.10").status_code == 201
    assert _post(APIClient(), "203.0.113.10").status_code == 429
    redis_client = caches["default"]._cache.get_client(None, write=False)
    assert any(b"throttle_reports" in key for key in redis_client.keys("*"))


def test_other_clients_are_not_throttled(api_client, service, low_rate):
    statuses = [_post(api_client, "203.0.113.11").status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    assert _post(api_client, "198.51.100.20").status_code == 201


def test_forwarded_for_is_ignored_without_trusted_proxies(api_client, service, low_rate):
    for i in range(3):
        r = api_client.post(
            "/api/v1/reports/",
            data=json.dumps({"service": "acme", "problem": "login", "country": "DE"}),
            content_type="application/json",
            REMOTE_ADDR="203.0.113.12",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{i}",
        )
        assert r.status_code == 201
    assert _post(api_client, "203.0.113.12").status_code == 429


def test_web_form_shares_the_limit_and_says_so(client, service, low_rate):
    for _ in range(3):
        client.post("/services/acme/", {"problem": "login", "country": "DE"})
    response = client.post("/services/acme/", {"problem": "login", "country": "DE"})
    assert response.status_code == 429
    assert "too fast" in response.content.decode()
    assert Report.objects.count() == 3


def test_throttle_keys_in_redis_hold_no_address(service, low_rate):
    _post(APIClient(), "203.0.113.13")
    redis_client = caches["default"]._cache.get_client(None, write=False)
    keys = b" ".join(redis_client.keys("*"))
    assert b"throttle_reports" in keys
    assert b"203.0.113" not in keys


def test_redis_down_stores_reports_uncounted_and_logs_one_line(
    api_client, service, low_rate, redis_down, caplog
):
    import outagewatch.api.throttling as throttling

    throttling._last_logged = 0.0
    with caplog.at_level("WARNING", logger="outagewatch.api.throttling"):
        statuses = [_post(api_client, "203.0.113.14").status_code for _ in range(20)]
        web = APIClient().post("/services/acme/", {"problem": "login", "country": "DE"})
    assert statuses == [201] * 20
    assert web.status_code == 302
    assert Report.objects.count() == 21
    assert not Report.objects.filter(counted=True).exists()
    lines = [r for r in caplog.records if r.name == "outagewatch.api.throttling"]
    assert len(lines) == 1 and lines[0].exc_info is None
    assert "not counting" in lines[0].getMessage()


def test_limit_holds_for_simultaneous_requests(service, throttle_rate):
    # One atomic Redis call per check: eight requests at once cannot all take the last slots.
    import threading

    throttle_rate("reports", "5/min")
    from outagewatch.api.throttling import ClientRateLimit

    results: list[bool] = []
    barrier = threading.Barrier(8)

    def check() -> None:
        from django.test import RequestFactory

        request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.15")
        barrier.wait()
        results.append(ClientRateLimit("reports").check(request))

    threads = [threading.Thread(target=check) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 3 + [True] * 5


def test_concurrent_checks_sharing_a_batch_with_redis_down_all_go_through_unchecked(
    service, throttle_rate, redis_down, monkeypatch
):
    # Every check of a batch gets the error as its result when Redis is down; each must reach
    # its request as that error (stored uncounted), not as a result to unpack (a 500, the
    # report lost). The Redis-down tests sent one request at a time, never a batch, and no
    # test noticed (mutation tester, forty-sixth session).
    import threading

    from django.test import RequestFactory

    import outagewatch.api.throttling as throttling
    from outagewatch.api.throttling import ClientRateLimit, throttle_unchecked

    throttle_rate("reports", "5/min")
    group = throttling._checks
    alone, batch = group._write_one, group._write_batch
    leading, batches = threading.Event(), []

    def first_alone(check):  # the first check's write waits until two more queue behind it
        if not leading.is_set():
            leading.set()
            deadline = time.monotonic() + 5
            while len(group._pending) < 2:
                assert time.monotonic() < deadline, "the other checks never queued"
                time.sleep(0.005)
        return alone(check)

    monkeypatch.setattr(group, "_write_one", first_alone)
    monkeypatch.setattr(
        group, "_write_batch", lambda checks: batches.append(len(checks)) or batch(checks)
    )
    requests = [RequestFactory().post("/", REMOTE_ADDR=f"203.0.113.{40 + i}") for i in range(3)]
    results: dict[int, object] = {}

    def check(i: int) -> None:
        try:
            results[i] = ClientRateLimit("reports").check(requests[i])
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=check, args=(i,)) for i in range(3)]
    threads[0].start()
    assert leading.wait(5)
    for thread in threads[1:]:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert batches == [2]  # the two checks that queued went together
    assert results == {0: True, 1: True, 2: True}
    assert all(throttle_unchecked(request) for request in requests)


def test_limit_survives_redis_forgetting_the_script(api_client, service, low_rate):
    assert _post(api_client, "203.0.113.16").status_code == 201
    caches["default"]._cache.get_client(None, write=True).script_flush()  # a Redis restart
    statuses = [_post(api_client, "203.0.113.16").status_code for _ in range(3)]
    assert statuses == [201, 201, 429]


def _checks(client, count, *, limit=5, key="throttle-batch-test"):
    from outagewatch.api.throttling import _Check

    now = 1_000_000.0
    return [_Check(client, key, (repr(now + i / 1000), 60, limit, f"m{i}")) for i in range(count)]


def test_a_batch_of_checks_is_one_round_trip_and_the_limit_still_holds(monkeypatch):
    import outagewatch.api.throttling as throttling

    client = caches["default"]._cache.get_client(None, write=True)
    client.delete("throttle-batch-test")
    sent = []
    round_trip = throttling._round_trip
    monkeypatch.setattr(
        throttling,
        "_round_trip",
        lambda c, commands: sent.append(commands) or round_trip(c, commands),
    )
    results = throttling._sliding_windows(_checks(client, 8))
    assert [allowed for allowed, _ in results] == [1] * 5 + [0] * 3
    assert len(sent) == 1 and len(sent[0]) == 8


def test_a_batch_loads_the_script_after_a_redis_restart():
    from outagewatch.api.throttling import _sliding_windows

    client = caches["default"]._cache.get_client(None, write=True)
    client.delete("throttle-batch-test")
    client.script_flush()
    results = _sliding_windows(_checks(client, 3))
    assert [allowed for allowed, _ in results] == [1, 1, 1]
    assert client.zcard("throttle-batch-test") == 3  # each check ran once, none twice


def test_a_connection_that_redis_closed_is_replaced():
    import redis

    from outagewatch.api.throttling import _sliding_windows

    client = caches["default"]._cache.get_client(None, write=True)
    client.delete("throttle-batch-test")
    assert [allowed for allowed, _ in _sliding_windows(_checks(client, 1))] == [1]
    pooled = client.connection_pool.get_connection()
    pooled.send_command("CLIENT", "ID")
    pooled_id = pooled.read_response()
    client.connection_pool.release(pooled)
    # Redis closes that connection (as a restart would), and only that one: other tests' and
    # workers' connections to this Redis stay up.
    admin = redis.Redis(
        connection_pool=redis.ConnectionPool(**client.connection_pool.connection_kwargs)
    )
    assert admin.client_kill_filter(_id=pooled_id) == 1
    admin.close()
    results = _sliding_windows(_checks(client, 2))
    # Both answered on a new connection, and counted: the pool did not hand back the dead one.
    assert [allowed for allowed, _ in results] == [1, 1]
    assert client.zcard("throttle-batch-test") == 2


def test_a_batch_sent_again_after_its_replies_were_lost_counts_each_check_once(monkeypatch):
    from redis.exceptions import TimeoutError as RedisTimeoutError

    import outagewatch.api.throttling as throttling

    client = caches["default"]._cache.get_client(None, write=True)
    client.delete("throttle-batch-test")
    client.script_load(throttling._SLIDING_WINDOW)  # both sends run it (no NOSCRIPT detour)
    reply = throttling._reply
    lost = []

    def first_reply_lost(connection):
        if not lost:  # Redis ran the whole batch; its first reply times out on the way back
            lost.append(connection)
            raise RedisTimeoutError("Timeout reading from socket")
        return reply(connection)

    monkeypatch.setattr(throttling, "_reply", first_reply_lost)
    results = throttling._sliding_windows(_checks(client, 3, limit=2))
    assert lost  # the batch was sent twice
    # As if it had been sent once: two admitted, the third refused, two entries in the window.
    assert [allowed for allowed, _ in results] == [1, 1, 0]
    assert client.zcard("throttle-batch-test") == 2


def test_a_command_error_is_that_checks_alone():
    from outagewatch.api.throttling import _sliding_windows

    client = caches["default"]._cache.get_client(None, write=True)
    client.delete("throttle-batch-test", "throttle-not-a-set")
    client.set("throttle-not-a-set", "x")  # the script's ZREMRANGEBYSCORE fails on it
    checks = _checks(client, 2) + _checks(client, 1, key="throttle-not-a-set")
    results = _sliding_windows(checks)
    assert [result[0] for result in results[:2]] == [1, 1]
    assert isinstance(results[2], Exception) and "WRONGTYPE" in str(results[2])
    client.delete("throttle-not-a-set")


def test_client_ident_is_salted_hmac_of_the_address():
    from django.test import RequestFactory
    from django.utils.crypto import salted_hmac

    from outagewatch.api.throttling import client_ident

    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.17")
    # The same value as before the key was cached: a rolling deploy keeps counting each client
    # on one key.
    assert (
        client_ident(request)
        == salted_hmac("outagewatch.throttle", "203.0.113.17").hexdigest()[:32]
    )


def test_one_ipv6_64_is_one_client(api_client, service, low_rate):
    # A host picks any address of its /64 (privacy extensions): counted by the address, one
    # machine was never limited. Another /64 is another client.
    statuses = [_post(api_client, f"2001:db8:1:1::{k + 1:x}").status_code for k in range(4)]
    assert statuses == [201, 201, 201, 429]
    assert _post(api_client, "2001:db8:1:2::1").status_code == 201


@pytest.mark.parametrize(
    "ipv6",
    [
        # 6to4 (RFC 3056): 203.0.113.9 owns 2002:cb00:7109::/48, each /64 of it was a client
        ["2002:cb00:7109:1::1", "2002:cb00:7109:2::1", "2002:cb00:7109:3::1"],
        # Teredo (RFC 4380): the public IPv4 inverted, through any server (another /64 each)
        [f"2001:0:{server}:0:1:34ff:8ef6" for server in ("4136:e378", "c000:201", "5db8:d70e")],
        # NAT64's well-known prefix (RFC 6052): its clients shared one /64 between them all
        ["64:ff9b::cb00:7109"] * 3,
    ],
)
def test_one_ipv4_host_is_one_client_however_it_speaks_ipv6(api_client, service, low_rate, ipv6):
    statuses = [_post(api_client, address).status_code for address in ("203.0.113.9", *ipv6)]
    assert statuses == [201, 201, 201, 429]
    # Another IPv4 host's forms are another client.
    assert _post(api_client, "2002:cb00:710a::1").status_code == 201
    assert _post(api_client, "64:ff9b::cb00:710a").status_code == 201


def test_a_batch_against_an_unreachable_redis_answers_every_check_with_the_error_at_once():
    import time

    import redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    from outagewatch.api.throttling import _sliding_windows

    nobody = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1, retry=None)
    started = time.monotonic()
    results = _sliding_windows(_checks(nobody, 5))
    assert all(isinstance(result, RedisConnectionError) for result in results)
    assert time.monotonic() - started < 3  # one failed connection, not one per check


def test_one_ipv6_48_has_an_allowance_of_its_own(api_client, service, low_rate, settings):
    # One machine can hold a /48 (a tunnel broker's): each of its /64s was a client with the
    # full limit. The /48 may send THROTTLE_IPV6_SITE_FACTOR times one client's rate.
    settings.THROTTLE_IPV6_SITE_FACTOR = 2
    statuses = [_post(api_client, f"2001:db8:5:{k:x}::1").status_code for k in range(8)]
    assert statuses == [201] * 6 + [429, 429]
    refused = _post(api_client, "2001:db8:5:ff::1")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert Report.objects.count() == 6
    # Another /48, and IPv4 clients, have theirs.
    assert _post(api_client, "2001:db8:6::1").status_code == 201
    assert _post(api_client, "203.0.113.9").status_code == 201


def test_the_websites_form_counts_the_48_as_well(client, service, low_rate, settings):
    settings.THROTTLE_IPV6_SITE_FACTOR = 1
    form = {"problem": "login", "country": "DE"}
    for k in range(3):
        client.post("/services/acme/", form, REMOTE_ADDR=f"2001:db8:5:{k:x}::1")
    response = client.post("/services/acme/", form, REMOTE_ADDR="2001:db8:5:ff::1")
    assert response.status_code == 429
    assert Report.objects.count() == 3


@pytest.mark.parametrize("method", ["options", "head"])
def test_options_and_head_do_not_spend_the_report_allowance(api_client, service, low_rate, method):
    # CORS preflights and API discovery send OPTIONS: they submit nothing, and nine of them
    # used to leave a client's real report refused with 429 and lost.
    for _ in range(5):
        getattr(api_client, method)("/api/v1/reports/", REMOTE_ADDR="203.0.113.30")
    statuses = [_post(api_client, "203.0.113.30").status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]


def test_options_to_the_report_endpoint_count_as_reads(api_client, service, throttle_rate):
    # Not free either: the reads' allowance bounds them.
    throttle_rate("reads", "2/min")
    codes = [
        api_client.options("/api/v1/reports/", REMOTE_ADDR="203.0.113.31").status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]
    assert _post(api_client, "203.0.113.31").status_code == 201


def test_refused_report_posts_still_count_against_the_allowance(api_client, service, low_rate):
    # The abuse guard: a client cannot probe or flood with invalid bodies for free.
    for _ in range(3):
        refused = api_client.post(
            "/api/v1/reports/",
            data="{}",
            content_type="application/json",
            REMOTE_ADDR="203.0.113.32",
        )
        assert refused.status_code == 400
    assert _post(api_client, "203.0.113.32").status_code == 429


def test_reports_cannot_be_sent_cross_origin_from_a_browser(api_client, service):
    # No CORS on the writes: a page elsewhere cannot have its visitors' browsers (each on a
    # network of its own) submit reports. The preflight gets no Access-Control-Allow-Origin.
    response = api_client.options(
        "/api/v1/reports/",
        HTTP_ORIGIN="https://elsewhere.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )
    assert "Access-Control-Allow-Origin" not in response
    posted = _post(api_client, "203.0.113.33")
    assert "Access-Control-Allow-Origin" not in posted
