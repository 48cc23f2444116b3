"""The network JSON API: each operation passes its ids, query and body to one RPC of the
contract (summaries: the contract's docstrings)."""

from __future__ import annotations

from gateway.web.network.pages import AREA, INSTITUTIONS
from gateway.web.passthrough import Api, passthrough

N = "/api/network"
C = f"{N}/ceracs/<int:cerac_id>"

# fmt: off
passthrough(
    "network",
    Api("api_network", f"GET {N}/ceracs", "network_ceracs", AREA),
    Api("api_cerac", f"GET {C}", "get_cerac", AREA),
    Api("api_cerac_competences", f"PUT {C}/competences", "update_cerac_competences",
        INSTITUTIONS),
    Api("api_request_support", f"POST {C}/support-requests", "request_support", INSTITUTIONS),
    Api("api_support_requests", f"GET {N}/support-requests", "support_requests", INSTITUTIONS),
    Api("api_answer_support", f"POST {N}/support-requests/<int:request_id>/answer",
        "answer_support", INSTITUTIONS),
)
# fmt: on
