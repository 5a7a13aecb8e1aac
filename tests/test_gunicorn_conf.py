"""The production server's worker hook (outagewatch/gunicorn_conf.py)."""

import gc
import importlib

import pytest
from django.urls import get_resolver


def test_a_worker_freezes_what_it_loaded_out_of_the_collectors_reach():
    conf = importlib.import_module("outagewatch.gunicorn_conf")
    gc.unfreeze()
    try:
        conf.post_worker_init(worker=None)
        # The URLconf's views were imported before the freeze, and are in it.
        assert gc.get_freeze_count() > 10_000
        assert get_resolver()._populated  # reverse() has its lookup before the first request
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("bind", ["unix:/run/outagewatch.sock", "fd://3"])
def test_a_unix_socket_is_refused_with_a_reason(monkeypatch, bind):
    conf = importlib.import_module("outagewatch.gunicorn_conf")

    monkeypatch.setenv("WEB_BIND", bind)
    with pytest.raises(SystemExit, match="every reporter would count as one network"):
        importlib.reload(conf)
    monkeypatch.delenv("WEB_BIND")
    assert importlib.reload(conf).bind == "127.0.0.1:8000"
