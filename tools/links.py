"""Links to tasks: THE rule for where a task link points.

A link goes to the Asana the data was synced from (``EFFORT_ASANA_BASE_URL`` minus its ``/api/…``
path): app.asana.com for a real workspace, the sandbox's own address when synced from the sandbox, so
a report made from sandbox data never sends a reader to a real Asana URL for a task that exists
nowhere there. The task's own permalink path is kept when it has one (Asana's ``/0/<project>/<task>``).
"""

from __future__ import annotations

from urllib.parse import urlsplit


def is_web_url(url: str | None) -> bool:
    """Only plain web links become anchors; ``javascript:`` and friends stay text."""
    return bool(url) and str(url).lower().startswith(("https://", "http://"))


def asana_web_root(api_base_url: str | None) -> str | None:
    """``https://app.asana.com/api/1.0`` -> ``https://app.asana.com`` (None for anything not http(s))."""
    if not api_base_url or not is_web_url(api_base_url):
        return None
    parts = urlsplit(api_base_url.strip())
    path = parts.path.rstrip("/")
    cut = path.find("/api")
    root_path = path[:cut] if cut >= 0 else path
    return f"{parts.scheme}://{parts.netloc}{root_path}"


def task_link(web_root: str | None, task_gid: str, permalink_url: str | None = None) -> str | None:
    """The link for a task: its permalink's path on ``web_root`` (or ``/0/0/<gid>``); without a web
    root, the permalink itself if it is a web URL; else None."""
    if web_root:
        path = urlsplit(str(permalink_url)).path if is_web_url(permalink_url) else ""
        return web_root.rstrip("/") + (path if path.startswith("/0/") else f"/0/0/{task_gid}")
    return permalink_url if is_web_url(permalink_url) else None
