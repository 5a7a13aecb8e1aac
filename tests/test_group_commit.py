"""Group commit: concurrent writes share a batch, each submitter gets its own answer."""

from __future__ import annotations

import threading
import time

import pytest

from outagewatch.group_commit import GroupCommit, _Slot


class Recorder:
    """write_batch / write_one that record their calls; the first batch can be held open."""

    def __init__(self, *, fail_on: set[int] | None = None) -> None:
        self.batches: list[list[int]] = []
        self.singles: list[int] = []
        self.fail_on = fail_on or set()
        self.hold = threading.Event()
        self.holding = threading.Event()
        self.hold.set()

    def write_batch(self, items):
        self.batches.append(list(items))
        self.holding.set()
        self.hold.wait(5)
        if self.fail_on & set(items):
            raise RuntimeError("the batch failed")
        return [item * 10 for item in items]

    def write_one(self, item):
        self.singles.append(item)
        if item in self.fail_on:
            raise ValueError(f"bad item {item}")
        return item * 10


def _submit_all(group, items, *, first_holds: Recorder | None = None):
    """Submit items[0] first; when first_holds, wait until its write is under way (and held),
    then submit the others, so that they queue behind it."""
    results: dict[int, object] = {}

    def run(item):
        try:
            results[item] = group.submit(item)
        except Exception as exc:
            results[item] = exc

    first = threading.Thread(target=run, args=(items[0],))
    first.start()
    if first_holds is not None:
        assert first_holds.holding.wait(5)
    others = [threading.Thread(target=run, args=(item,)) for item in items[1:]]
    for thread in others:
        thread.start()
    if first_holds is not None:
        _wait_for_queue(group, len(items) - 1)
        first_holds.hold.set()
    for thread in [first, *others]:
        thread.join(10)
    return results


def _wait_for_queue(group, size):
    deadline = time.monotonic() + 5
    while len(group._pending) < size:
        assert time.monotonic() < deadline, "the submitters never queued"
        time.sleep(0.005)


def test_a_lone_write_is_written_at_once_and_alone():
    recorder = Recorder()
    group = GroupCommit(recorder.write_batch, recorder.write_one, max_batch=64)
    assert group.submit(7) == 70
    assert recorder.singles == [7] and recorder.batches == []


def test_writes_queued_behind_a_batch_go_together_in_the_next_one():
    recorder = Recorder()
    group = GroupCommit(recorder.write_batch, recorder.write_one, max_batch=64)
    group._pending.append(_slot_of(group, 100))  # a write already queued: the first is a batch
    recorder.hold.clear()
    results = _submit_all(group, [1, 2, 3, 4, 5, 6], first_holds=recorder)
    assert {item: results[item] for item in range(1, 7)} == {i: i * 10 for i in range(1, 7)}
    assert recorder.batches[0] == [100, 1]
    assert sorted(recorder.batches[1]) == [2, 3, 4, 5, 6]  # all five in one transaction
    assert recorder.singles == []


def test_batches_never_exceed_their_cap():
    recorder = Recorder()
    group = GroupCommit(recorder.write_batch, recorder.write_one, max_batch=2)
    group._pending.append(_slot_of(group, 100))
    recorder.hold.clear()
    results = _submit_all(group, [1, 2, 3, 4, 5], first_holds=recorder)
    assert all(results[i] == i * 10 for i in range(1, 6))
    assert max(len(batch) for batch in recorder.batches) == 2
    written = sorted(item for batch in recorder.batches for item in batch) + recorder.singles
    assert sorted(written) == [1, 2, 3, 4, 5, 100]


def test_a_failed_batch_is_retried_one_by_one_and_only_the_bad_write_fails():
    recorder = Recorder(fail_on={3})
    group = GroupCommit(recorder.write_batch, recorder.write_one, max_batch=64)
    group._pending.append(_slot_of(group, 100))
    recorder.hold.clear()
    results = _submit_all(group, [1, 2, 3, 4], first_holds=recorder)
    assert isinstance(results[3], ValueError)
    assert {i: results[i] for i in (1, 2, 4)} == {1: 10, 2: 20, 4: 40}
    assert sorted(recorder.singles) == [2, 3, 4]  # the failed batch, each alone


def test_an_error_reaches_only_its_own_submitter():
    recorder = Recorder(fail_on={9})
    group = GroupCommit(recorder.write_batch, recorder.write_one, max_batch=64)
    with pytest.raises(ValueError, match="bad item 9"):
        group.submit(9)
    assert group.submit(1) == 10  # the group goes on


def _slot_of(group, item):
    """A write queued by a submitter that is not looking: the next leader takes it along."""
    return _Slot(item)


def test_a_batch_can_answer_one_write_with_an_error_of_its_own():
    # The rate-limit checks of concurrent requests answer each check its own error (Redis
    # down): it is raised to that submitter alone, the others get their results, nothing is
    # retried. Handed back as a result, it passed every test (mutation tester, forty-sixth
    # session).
    def write_batch(items):
        return [ValueError(f"bad item {item}") if item == 3 else item * 10 for item in items]

    singles = []
    group = GroupCommit(write_batch, singles.append, max_batch=64)
    queued = _slot_of(group, 3)
    group._pending.append(queued)  # a concurrent submitter's write: a batch of two
    assert group.submit(1) == 10
    assert queued.done and isinstance(queued.error, ValueError) and queued.result is None
    queued = _slot_of(group, 2)
    group._pending.append(queued)
    with pytest.raises(ValueError, match="bad item 3"):
        group.submit(3)
    assert queued.done and queued.error is None and queued.result == 20
    assert singles == []


def test_an_error_that_is_no_single_writes_fault_fails_the_batch_without_retries():
    recorder = Recorder(fail_on={3})
    group = GroupCommit(
        recorder.write_batch, recorder.write_one, max_batch=64, retry_alone=lambda exc: False
    )
    group._pending.append(_slot_of(group, 100))
    recorder.hold.clear()
    results = _submit_all(group, [1, 2, 3, 4], first_holds=recorder)
    assert all(isinstance(results[i], RuntimeError) for i in (2, 3, 4))
    assert results[1] == 10  # its own batch had written
    assert recorder.singles == []


def test_each_submitter_of_a_failed_batch_raises_an_error_of_its_own():
    # One object raised in every thread collected all their frames in its traceback.
    recorder = Recorder(fail_on={3})
    group = GroupCommit(
        recorder.write_batch, recorder.write_one, max_batch=64, retry_alone=lambda exc: False
    )
    group._pending.append(_slot_of(group, 100))  # the first batch is not a lone write
    recorder.hold.clear()
    results = _submit_all(group, [1, 2, 3, 4], first_holds=recorder)
    errors = [results[i] for i in (2, 3, 4)]
    assert all(type(e) is RuntimeError and str(e) == "the batch failed" for e in errors)
    assert len({id(e) for e in errors}) == 3
    assert len({id(e.__cause__) for e in errors}) == 1  # the batch's own, with its traceback
    for error in errors:
        frames = []
        tb = error.__traceback__
        while tb is not None:
            frames.append(tb.tb_frame.f_code.co_name)
            tb = tb.tb_next
        assert frames.count("run") == 1, frames  # its own submitter's, no other's
