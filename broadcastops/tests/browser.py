"""Waiting on a page in Chromium under the Content-Security-Policy."""

import time


def until(page, expression: str, timeout_s: float = 15.0) -> None:
    """Poll ``expression`` until it is true. (Playwright's wait_for_function evaluates with
    eval, which the policy refuses; evaluate goes through the DevTools protocol.)"""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"not true in {timeout_s} s: {expression}"
        time.sleep(0.1)


# Registered with ``page.add_init_script`` before any page script runs, on every navigation:
# the browser reports each Content-Security-Policy violation here.
CSP_LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def csp_violations(page) -> list[str]:
    """What the policy refused on this page so far (``CSP_LISTEN`` must be registered)."""
    return page.evaluate("window.__cspViolations")
