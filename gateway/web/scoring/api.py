"""The scoring JSON API: each operation passes its ids and body to one RPC of the contract."""

from __future__ import annotations

from gateway.web.passthrough import Api, passthrough
from gateway.web.scoring.pages import ADMIN, EVALUATORS, INSTITUTIONS, LETTER_READERS, STAFF

AE = "/api/scoring/evaluations/<int:evaluation_id>"
AC = "/api/scoring/committees/<int:call_id>"

passthrough(
    "scoring",
    # evaluators
    Api(
        "api_scoring_workspace",
        "GET /api/scoring/evaluations",
        "workspace",
        EVALUATORS,
        "Mes évaluations : demandes confiées, progression, établissements de mes comités",
    ),
    Api(
        "api_scoring_assignment",
        f"GET {AE}",
        "get_assignment",
        EVALUATORS,
        "Une demande qui m'est confiée : la grille et mes notes (jamais celles des autres)",
    ),
    Api(
        "api_scoring_save",
        f"PUT {AE}/scores",
        "save_scores",
        EVALUATORS,
        "Enregistrer mes notes (brouillon) ou les soumettre (submit: true)",
    ),
    Api(
        "api_scoring_declare_conflict",
        f"POST {AC}/my-conflicts",
        "declare_conflict",
        EVALUATORS,
        "Déclarer mon conflit d'intérêts avec un établissement de l'appel",
    ),
    # the committee
    Api(
        "api_scoring_committees",
        "GET /api/scoring/committees",
        "list_committees",
        STAFF,
        "Comités d'évaluation, par appel",
        wrap="committees",
    ),
    Api(
        "api_scoring_committee",
        f"GET {AC}",
        "get_committee",
        STAFF,
        "Vue du comité : matrice demandes × critères, classement par ordre, décisions",
    ),
    Api(
        "api_scoring_parameters",
        f"PUT {AC}/parameters",
        "set_parameters",
        ADMIN,
        "Paramètres du comité : évaluateurs par demande, écart toléré, seuil global",
    ),
    Api(
        "api_scoring_add_member",
        f"POST {AC}/members",
        "add_member",
        ADMIN,
        "Faire siéger une évaluatrice, un évaluateur ou un analyste au comité",
    ),
    Api(
        "api_scoring_record_conflict",
        f"POST {AC}/conflicts",
        "record_conflict",
        ADMIN,
        "Consigner un conflit d'intérêts entre un membre et un établissement",
    ),
    Api(
        "api_scoring_assign",
        f"POST {AE}/assignments",
        "assign",
        ADMIN,
        "Confier une demande à un membre du comité",
    ),
    Api(
        "api_scoring_unassign",
        f"DELETE {AE}/assignments/<int:user_id>",
        "unassign",
        ADMIN,
        "Retirer une affectation (évaluation non soumise)",
    ),
    Api(
        "api_scoring_reopen",
        f"POST {AE}/reopen",
        "reopen",
        ADMIN,
        "Rouvrir l'évaluation soumise d'un membre (motif consigné)",
    ),
    Api(
        "api_scoring_consensus",
        f"POST {AE}/consensus",
        "record_consensus",
        ADMIN,
        "Consigner une note de consensus justifiée pour un critère",
    ),
    Api(
        "api_scoring_recommend",
        f"POST {AC}/recommendations",
        "record_recommendation",
        ADMIN,
        "Consigner la recommandation du comité pour un ordre d'enseignement (3 au plus)",
    ),
    Api(
        "api_scoring_decide",
        f"POST {AE}/decision",
        "decide",
        ADMIN,
        "Consigner la décision de la ou du ministre (3 désignations au plus par ordre)",
    ),
    Api(
        "api_scoring_committee_csv",
        f"GET {AC}/matrix.csv",
        "committee_csv",
        STAFF,
        "Matrice du comité en CSV (UTF-8, point-virgule)",
        file=True,
    ),
    # institutions
    Api(
        "api_scoring_letter",
        f"GET {AE}/letter",
        "get_letter",
        LETTER_READERS,
        "Lettre de désignation ou de non-désignation (PDF)",
        file=True,
    ),
    Api(
        "api_scoring_results",
        "GET /api/scoring/results",
        "my_results",
        INSTITUTIONS,
        "Résultats de l'évaluation des demandes de mon établissement",
        wrap="results",
    ),
)
