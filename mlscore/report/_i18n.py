"""UI strings of the report in English and French.

Data (customer ids, reasons, segment and action names) is never translated
here: reasons arrive already rendered in the predictions file's language.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["LANGS", "STRINGS", "Lang", "tr"]

Lang = Literal["en", "fr"]
LANGS: tuple[str, ...] = ("en", "fr")

STRINGS: dict[str, dict[str, str]] = {
    "title": {"en": "Customer scoring board", "fr": "Tableau de bord du scoring client"},
    "generated": {"en": "Scores as of", "fr": "Scores au"},
    "customers": {"en": "customers", "fr": "clients"},
    "nav_segments": {"en": "Segments", "fr": "Segments"},
    "nav_scores": {"en": "Scores", "fr": "Scores"},
    "nav_ranking": {"en": "Model vs points", "fr": "Modèle contre points"},
    "nav_points": {"en": "Points table", "fr": "Grille de points"},
    "nav_customers": {"en": "Customers", "fr": "Clients"},
    "nav_cards": {"en": "Model cards", "fr": "Fiches modèles"},
    # segments
    "segments_title": {"en": "Segment overview", "fr": "Vue d'ensemble des segments"},
    "segments_intro": {
        "en": "Every customer falls in one segment; each segment comes with a suggested action.",
        "fr": "Chaque client appartient à un segment ; chaque segment a une action suggérée.",
    },
    "segment": {"en": "Segment", "fr": "Segment"},
    "size": {"en": "Customers", "fr": "Clients"},
    "share": {"en": "Share", "fr": "Part"},
    "mean_score": {"en": "Mean score", "fr": "Score moyen"},
    "action": {"en": "Suggested action", "fr": "Action suggérée"},
    "change_size": {"en": "Change in size", "fr": "Évolution de la taille"},
    "change_score": {"en": "change", "fr": "évolution"},
    "vs_previous": {
        "en": "Changes are against the previous run",
        "fr": "Les évolutions sont calculées par rapport au run précédent",
    },
    "moved_segment": {
        "en": "; {moved} of {total} customers changed segment.",
        "fr": " ; {moved} clients sur {total} ont changé de segment.",
    },
    "no_previous": {
        "en": "No previous run given: changes are not shown.",
        "fr": "Aucun run précédent fourni : les évolutions ne sont pas affichées.",
    },
    "engagement_tier": {"en": "Engagement tier", "fr": "Niveau d'engagement"},
    "rfm_segment": {"en": "RFM segment", "fr": "Segment RFM"},
    "tier": {"en": "Tier", "fr": "Niveau"},
    "tiers_of": {"en": "Tiers of", "fr": "Niveaux de"},
    # scores
    "scores_title": {"en": "Score distributions", "fr": "Distribution des scores"},
    "scores_intro": {
        "en": "Scores run from 0 to 100 (100 × predicted probability).",
        "fr": "Les scores vont de 0 à 100 (100 × probabilité prédite).",
    },
    "score": {"en": "Score", "fr": "Score"},
    "previous_run": {"en": "previous run", "fr": "run précédent"},
    "this_run": {"en": "this run", "fr": "ce run"},
    # ranking
    "ranking_title": {
        "en": "How the model ranks compared with the hand-set points",
        "fr": "Classement du modèle comparé à la grille de points manuelle",
    },
    "ranking_intro": {
        "en": "On held-out test data: customers are cut into ten deciles by score (decile 1 = "
        "highest scores). Lift = rate in the decile / overall rate; a good ranking has a high "
        "lift in the first deciles.",
        "fr": "Sur des données de test mises de côté : les clients sont répartis en dix déciles "
        "selon le score (décile 1 = scores les plus hauts). Lift = taux du décile / taux global ; "
        "un bon classement a un lift élevé dans les premiers déciles.",
    },
    "lift_by_decile": {"en": "Lift by decile", "fr": "Lift par décile"},
    "calibration": {
        "en": "Calibration: predicted vs observed rate",
        "fr": "Calibration : taux prédit contre taux observé",
    },
    "decile": {"en": "Decile", "fr": "Décile"},
    "lift": {"en": "Lift", "fr": "Lift"},
    "predicted": {"en": "Predicted rate", "fr": "Taux prédit"},
    "observed": {"en": "Observed rate", "fr": "Taux observé"},
    "perfect": {"en": "perfect calibration", "fr": "calibration parfaite"},
    "model": {"en": "Model", "fr": "Modèle"},
    "no_deciles": {
        "en": "The model bundle holds no decile tables: lift and calibration are not shown.",
        "fr": "Le modèle ne contient pas de tables par décile : lift et calibration non affichés.",
    },
    # points
    "points_title": {"en": "Learned points table", "fr": "Grille de points apprise"},
    "points_intro": {
        "en": "What one more event is now worth in score points according to the model, next to "
        "the hand-set grid, and how it moved since the previous champion model.",
        "fr": "Ce que vaut aujourd'hui un événement de plus en points de score selon le modèle, "
        "à côté de la grille manuelle, et son évolution depuis le précédent modèle champion.",
    },
    "learned_points": {"en": "Learned points", "fr": "Points appris"},
    "handset_points": {"en": "Hand-set points", "fr": "Points manuels"},
    "change_points": {
        "en": "Change since previous champion",
        "fr": "Évolution depuis le champion précédent",
    },
    "previous_points": {"en": "Previous champion", "fr": "Champion précédent"},
    "event_type": {"en": "Event", "fr": "Événement"},
    "level": {"en": "Level", "fr": "Niveau"},
    "points_missing": {
        "en": "No learned points table available for this target.",
        "fr": "Aucune grille de points apprise disponible pour cette cible.",
    },
    # customers
    "customers_title": {"en": "Customers", "fr": "Clients"},
    "customers_intro": {
        "en": "Search by customer id; click a column header to sort.",
        "fr": "Recherchez par identifiant client ; cliquez sur un en-tête pour trier.",
    },
    "search_placeholder": {"en": "Search a customer id…", "fr": "Rechercher un identifiant…"},
    "all_segments": {"en": "All segments", "fr": "Tous les segments"},
    "customer_id": {"en": "Customer", "fr": "Client"},
    "reasons": {"en": "Top reasons", "fr": "Principales raisons"},
    "next_action": {"en": "Next action", "fr": "Prochaine action"},
    "prev_page": {"en": "Previous", "fr": "Précédent"},
    "next_page": {"en": "Next", "fr": "Suivant"},
    "page": {"en": "Page", "fr": "Page"},
    "of": {"en": "of", "fr": "sur"},
    "matching": {"en": "matching customers", "fr": "clients correspondants"},
    "no_match": {"en": "No customer matches.", "fr": "Aucun client ne correspond."},
    "browser_too_old": {
        "en": "This browser cannot unpack the customer table; open the file in a recent "
        "Chrome, Edge, Firefox or Safari.",
        "fr": "Ce navigateur ne sait pas décompresser la table des clients ; ouvrez le "
        "fichier dans un Chrome, Edge, Firefox ou Safari récent.",
    },
    "noscript": {
        "en": "Enable JavaScript to browse the customer table.",
        "fr": "Activez JavaScript pour parcourir la table des clients.",
    },
    # model cards
    "cards_title": {"en": "Model cards", "fr": "Fiches des modèles"},
    "target": {"en": "Target", "fr": "Cible"},
    "definition": {"en": "Definition", "fr": "Définition"},
    "data_window": {"en": "Data window", "fr": "Fenêtre de données"},
    "cutoffs": {"en": "Cutoffs", "fr": "Dates de coupure"},
    "labels_until": {"en": "labels observed until", "fr": "cibles observées jusqu'au"},
    "model_version": {"en": "Model version", "fr": "Version du modèle"},
    "model_kind": {"en": "Model kind", "fr": "Type de modèle"},
    "trained_at": {"en": "Training date", "fr": "Date d'entraînement"},
    "source": {"en": "Source", "fr": "Source"},
    "rows_train_test": {"en": "Rows (train / test)", "fr": "Lignes (entraînement / test)"},
    "metric": {"en": "Test metric", "fr": "Métrique de test"},
    "metrics_note": {
        "en": "AUC and PR-AUC: higher is better; Brier, log loss and ECE: lower is better. "
        "Baselines are scores that do not learn (hand-set points, RFM, recency).",
        "fr": "AUC et PR-AUC : plus haut est meilleur ; Brier, log loss et ECE : plus bas est "
        "meilleur. Les références sont des scores qui n'apprennent pas (points manuels, RFM, "
        "récence).",
    },
    "card_missing": {
        "en": "Model card unavailable",
        "fr": "Fiche modèle indisponible",
    },
    "missing_section": {"en": "Not available", "fr": "Non disponible"},
    "baseline": {"en": "Baseline", "fr": "Référence"},
    # target definitions
    "def_conversion_purchase": {
        "en": "Makes a purchase within {h} days after the cutoff",
        "fr": "Effectue un achat dans les {h} jours suivant la date de coupure",
    },
    "def_conversion_event": {
        "en": "Does “{e}” within {h} days after the cutoff",
        "fr": "Réalise « {e} » dans les {h} jours suivant la date de coupure",
    },
    "def_exclude_converted": {
        "en": " (customers who had not converted yet)",
        "fr": " (clients n'ayant pas encore converti)",
    },
    "def_churn": {
        "en": "No {a} within {h} days after the cutoff, among customers active in the {lb} "
        "days before",
        "fr": "Aucun(e) {a} dans les {h} jours suivant la date de coupure, parmi les clients "
        "actifs dans les {lb} jours précédents",
    },
    "activity_purchase": {"en": "purchase", "fr": "achat"},
    "activity_any": {"en": "activity", "fr": "activité"},
    # metric names
    "m_auc": {"en": "AUC", "fr": "AUC"},
    "m_pr_auc": {"en": "PR-AUC", "fr": "PR-AUC"},
    "m_brier": {"en": "Brier score", "fr": "Score de Brier"},
    "m_log_loss": {"en": "Log loss", "fr": "Log loss"},
    "m_ece": {"en": "Calibration error (ECE)", "fr": "Erreur de calibration (ECE)"},
    "m_lift_at_10": {"en": "Lift in top 10 %", "fr": "Lift dans les 10 % du haut"},
    # baseline names
    "b_handset": {"en": "Hand-set points", "fr": "Points manuels"},
    "b_handset_points": {"en": "Hand-set points", "fr": "Points manuels"},
    "b_points": {"en": "Hand-set points", "fr": "Points manuels"},
    "b_rfm": {"en": "RFM score", "fr": "Score RFM"},
    "b_recency": {"en": "Recency", "fr": "Récence"},
    "footer": {
        "en": "Generated by mlscore {v}. Self-contained file: it loads nothing from the network.",
        "fr": "Généré par mlscore {v}. Fichier autonome : il ne charge rien depuis le réseau.",
    },
}


def tr(key: str, lang: str, **fmt: object) -> str:
    """The UI string ``key`` in ``lang`` (English if the key has no such language).

    Examples
    --------
    >>> tr("segment", "fr")
    'Segment'
    >>> tr("def_conversion_purchase", "fr", h=30)
    'Effectue un achat dans les 30 jours suivant la date de coupure'
    """
    entry = STRINGS[key]
    text = entry.get(lang, entry["en"])
    return text.format(**fmt) if fmt else text
