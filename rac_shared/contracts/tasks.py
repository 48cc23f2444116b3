"""Background work a person waits for (``rac_shared/tasks.py``): its status, as every
service's task views carry it."""

from __future__ import annotations

from rac_shared.contracts.base import Vocabulary


class TaskStatus(Vocabulary):
    QUEUED = "queued", "En attente"
    RUNNING = "running", "En cours"
    DONE = "done", "Terminé"
    FAILED = "failed", "Échec"
