"""The ministry's network dashboard: its figures and its pages."""

from gateway.web.dashboard import pages  # noqa: F401  (registers the routes)
from gateway.web.dashboard.figures import FIGURES, SERVICES, build  # noqa: F401
from gateway.web.dashboard.pages import (  # noqa: F401
    DashboardOut,
    DashboardQuery,
    api_dashboard,
    dashboard_csv,
    dashboard_page,
)
