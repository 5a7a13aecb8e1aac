"""The production server's worker hook (outagewatch/gunicorn_conf.py)."""

import gc
import importlib

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
