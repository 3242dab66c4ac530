"""Run calls at the same moment, each in its own thread and app context: races against real services."""

from __future__ import annotations

import threading

from common.db import db


def run_together(app, calls, timeout: float = 30.0) -> list:
    """Start every zero-argument call at once (behind a barrier); return their results.

    Results come in completion order. An exception in any call fails the test here.
    """
    barrier = threading.Barrier(len(calls))
    results, errors = [], []

    def run(call):
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                results.append(call())
            except Exception as exc:  # surfaced below, in the test's thread
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    if errors:
        raise errors[0]
    assert len(results) == len(calls), "a racing call did not finish in time"
    return results
