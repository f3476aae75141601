"""CRM/ESP export: the predictions with contact-property column names.

``predict.export.columns`` maps a predictions column to its name in the CRM
file (defaults are lower_snake_case without spaces, so they import as contact
properties in HubSpot, Brevo, Mailchimp, Salesforce ...). Mapped columns absent
from the predictions (e.g. ``score_churn`` when only a conversion model is
scored, ``reasons_*`` with ``--no-reasons``) are left out; every
``score_<target>`` the mapping does not name is added as
``mlscore_<target>_score`` so that no scored target is silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import pandas as pd

from mlscore.errors import ConfigError

__all__ = ["export_columns", "export_frame"]

_SAFE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def export_columns(
    predictions_columns: Sequence[str], mapping: Mapping[str, str]
) -> dict[str, str]:
    """``{predictions column: CRM column}`` in export order.

    Examples
    --------
    >>> export_columns(["customer_id", "score_lead", "segment"],
    ...                {"customer_id": "email_or_id", "score_conversion": "x", "segment": "seg"})
    {'customer_id': 'email_or_id', 'segment': 'seg', 'score_lead': 'mlscore_lead_score'}
    """
    present = set(predictions_columns)
    out = {src: dst for src, dst in mapping.items() if src in present}
    for c in predictions_columns:
        if c.startswith("score_") and c not in out:
            out[c] = f"mlscore_{c.removeprefix('score_')}_score"
    if "customer_id" in present and "customer_id" not in out:
        out = {"customer_id": "customer_id", **out}
    names = list(out.values())
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(
            f"`predict.export.columns` maps several columns to {dupes}; give each a distinct name"
        )
    bad = [n for n in names if not _SAFE.match(n)]
    if bad:
        raise ConfigError(
            f"`predict.export.columns` names {bad} would not import as contact properties; "
            "use letters, digits and underscores (e.g. mlscore_conversion_score)"
        )
    return out


def export_frame(predictions: pd.DataFrame, columns: Mapping[str, str]) -> pd.DataFrame:
    """The CRM frame: selected predictions columns under their CRM names."""
    return predictions[list(columns)].rename(columns=dict(columns))
