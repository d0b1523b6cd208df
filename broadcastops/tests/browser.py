"""Waiting on a page in Chromium under the Content-Security-Policy."""

import time


def until(page, expression: str, timeout_s: float = 15.0) -> None:
    """Poll ``expression`` until it is true. (Playwright's wait_for_function evaluates with
    eval, which the policy refuses; evaluate goes through the DevTools protocol.)"""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"not true in {timeout_s} s: {expression}"
        time.sleep(0.1)
