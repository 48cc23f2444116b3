"""What a page's status region polls about background work (``gateway/static/feedback.js``):
one JSON shape for every service's tasks (plans' issuing and previews, billing's invoicing
runs and bank imports). The task views come from the services (``rac_shared.tasks``)."""

from __future__ import annotations

from werkzeug.wrappers import Response

from gateway.web.framework import json_response
from rac_shared.contracts.base import Strict
from rac_shared.contracts.tasks import TaskStatus


class TaskState(Strict):
    """Whether to ask again, the French message to show meanwhile, and where to go: the
    result once ready, the page that says why once failed."""

    status: TaskStatus | None
    pending: bool
    ready: bool
    failed: bool
    message: str
    url: str | None


def task_state(task, ready_url: str, page_url: str) -> Response:
    """The JSON answer for ``task`` (a task view, or None: nothing asked), never cached."""
    state = TaskState(
        status=task.status if task else None,
        pending=bool(task and task.pending),
        ready=bool(task and task.ready),
        failed=bool(task and task.failed),
        message=task.message if task else "",
        url=ready_url if task and task.ready else page_url if task else None,
    )
    response = json_response(state)
    response.headers["Cache-Control"] = "no-store"
    return response
