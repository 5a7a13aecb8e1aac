"""Keep the memory a process frees for its own next use, instead of giving it back to the
kernel: for the detector, which allocates the same few gigabytes every minute.

glibc serves every allocation over its mmap threshold (128 kB, rising to at most 32 MB)
straight from the kernel and gives it back on free: each of the tick's arrays at 100k
series (the window, the states, the core's temporaries, the encoded states). So every
minute faulted its arrays in anew; on a virtual machine that reports freed pages to its
host (virtio-balloon free page reporting), through the host. Kept on the process's heap
and never trimmed, the next minute reuses the same pages: a warm 100k minute took 1.0-1.5 s
less, back to back and 20 s apart, the core and the states' write most of it
(bench/scale/README.md, "The detector keeps the memory it frees"). The process's RSS stays
at its peak between minutes (2.4 GB at 100k series), which it reaches every minute anyway,
and did not grow over 16 minutes.

glibc only (Linux with glibc); elsewhere, and with DETECTOR_KEEP_FREED_MEMORY=0, a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading

logger = logging.getLogger(__name__)

# mallopt() parameters, from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_M_ARENA_MAX = -8
# mallopt takes an int: the most free memory kept at the heap's top (2 GiB), above the freed
# part of a 100k minute.
_NEVER_TRIM = 2**31 - 1

_lock = threading.Lock()
_kept: bool | None = None  # None: not asked yet in this process


def keep_freed_memory(*, enabled: bool = True) -> bool:
    """Ask glibc, once per process, to keep freed memory: no allocation served by its own
    mmap (M_MMAP_MAX 0), the heap never trimmed, one arena for every thread (a thread's own
    arena serves a large allocation by mmap whatever M_MMAP_MAX says). Returns whether the
    process keeps freed memory. Later calls return the first call's answer."""
    global _kept
    with _lock:
        if _kept is None:
            _kept = enabled and _mallopt_all()
        return _kept


def _mallopt_all() -> bool:
    libc = _glibc()
    if libc is None:
        return False
    settings = ((_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, _NEVER_TRIM), (_M_ARENA_MAX, 1))
    if not all(libc.mallopt(param, value) == 1 for param, value in settings):
        logger.warning("glibc refused a mallopt() setting; freed memory may go back")
        return False
    logger.info("This process keeps the memory it frees (glibc malloc, no mmap, no trim)")
    return True


def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        if not hasattr(libc, "gnu_get_libc_version"):  # glibc's own: musl and others lack it
            return None
        libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        libc.mallopt.restype = ctypes.c_int
    except (OSError, AttributeError):
        return None
    return libc
