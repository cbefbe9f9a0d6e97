"""Import TensorFlow and Keras without their banners, in every process that trains or serves.

TF_CPP_MIN_LOG_LEVEL (set before the import) silences TensorFlow's own C++ log, but the oneDNN and
CPU-feature lines are written by absl before TensorFlow reads it ("All log messages before
absl::InitializeLog() is called are written to STDERR"), once per shared library: twice per process.
So the import runs with file descriptor 2 pointed at /dev/null, and absl's Python logger is set to
errors. An import that fails still raises its exception (nothing is lost but the C++ banners);
another thread's stderr line written during those seconds would be lost, and logs go to stdout.
"""
from __future__ import annotations

import logging
import os
import sys
import threading

_lock = threading.Lock()


def import_tensorflow_quietly() -> None:
    """Import tensorflow and keras once, with their C++ banners silenced (idempotent, thread-safe)."""
    if "keras" in sys.modules and "tensorflow" in sys.modules:
        return
    with _lock:
        if "keras" in sys.modules and "tensorflow" in sys.modules:
            return
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before the import: TF reads it once
        logging.getLogger("absl").setLevel(logging.ERROR)
        sys.stderr.flush()
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            import tensorflow  # noqa: F401
            import keras  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)
