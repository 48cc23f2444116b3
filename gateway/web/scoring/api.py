"""The scoring JSON API: each operation passes its ids and body to one RPC of the contract
(summaries: the contract's docstrings)."""

from __future__ import annotations

from gateway.web.passthrough import Api, passthrough
from gateway.web.scoring.pages import ADMIN, EVALUATORS, INSTITUTIONS, LETTER_READERS, STAFF

S = "/api/scoring"
E = f"{S}/evaluations/<int:evaluation_id>"
C = f"{S}/committees/<int:call_id>"

# fmt: off
passthrough(
    "scoring",
    Api("api_scoring_workspace", f"GET {S}/evaluations", "workspace", EVALUATORS),
    Api("api_scoring_assignment", f"GET {E}", "get_assignment", EVALUATORS),
    Api("api_scoring_save", f"PUT {E}/scores", "save_scores", EVALUATORS),
    Api("api_scoring_declare_conflict", f"POST {C}/my-conflicts", "declare_conflict", EVALUATORS),
    Api("api_scoring_declare_link", f"POST {S}/links", "declare_link", EVALUATORS | ADMIN,
        status=201),
    Api("api_scoring_remove_link", f"DELETE {S}/links/<int:link_id>", "remove_link",
        EVALUATORS | ADMIN),
    Api("api_scoring_proposal", f"GET {C}/assignment-proposal", "assignment_proposal", ADMIN),
    Api("api_scoring_bulk_assign", f"POST {C}/bulk-assignments", "assign_in_bulk", ADMIN),
    Api("api_scoring_committees", f"GET {S}/committees", "list_committees", STAFF,
        wrap="committees"),
    Api("api_scoring_committee", f"GET {C}", "get_committee", STAFF),
    Api("api_scoring_parameters", f"PUT {C}/parameters", "set_parameters", ADMIN),
    Api("api_scoring_add_member", f"POST {C}/members", "add_member", ADMIN),
    Api("api_scoring_record_conflict", f"POST {C}/conflicts", "record_conflict", ADMIN),
    Api("api_scoring_assign", f"POST {E}/assignments", "assign", ADMIN),
    Api("api_scoring_unassign", f"DELETE {E}/assignments/<int:user_id>", "unassign", ADMIN),
    Api("api_scoring_reopen", f"POST {E}/reopen", "reopen", ADMIN),
    Api("api_scoring_consensus", f"POST {E}/consensus", "record_consensus", ADMIN),
    Api("api_scoring_recommend", f"POST {C}/recommendations", "record_recommendation", ADMIN),
    Api("api_scoring_decide", f"POST {E}/decision", "decide", ADMIN),
    Api("api_scoring_committee_csv", f"GET {C}/matrix.csv", "committee_csv", STAFF, file=True),
    Api("api_scoring_letter", f"GET {E}/letter", "get_letter", LETTER_READERS, file=True),
    Api("api_scoring_ministries", f"GET {S}/ministries", "list_ministries", STAFF,
        wrap="ministries"),
    Api("api_scoring_save_ministry", f"PUT {S}/ministries", "save_ministry", ADMIN),
    Api("api_scoring_results", f"GET {S}/results", "my_results", INSTITUTIONS, wrap="results"),
)
# fmt: on
