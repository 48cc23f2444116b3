"""Every role walks the site from its home page, following the links it is shown.

Over the demo data on the real platform: no page fails (5xx) or leaks a stack trace, and no
page asks a service more than once (the gateway reports the RPCs a request made, per service,
in ``X-RAC-RPC`` outside production): a page's cost stays one round trip per service.
"""

from __future__ import annotations

import pytest

from tests.support.crawl import ROLES, crawl


@pytest.mark.parametrize("email", ROLES)
def test_every_page_a_role_can_reach_answers_with_at_most_one_rpc_per_service(platform, email):
    visited, problems = crawl(platform, email)
    assert len(visited) >= 5, f"{email} reached too few pages: {visited}"
    assert not problems, "\n".join(problems)
