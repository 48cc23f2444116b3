"""Two-factor sign-in: the second step, enrolment, recovery codes, the administrator's reset."""

from gateway.web.security import api, pages  # noqa: F401  (registers the routes)
