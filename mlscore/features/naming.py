"""The feature-name grammar: one regular name per feature, described in English and French.

Every feature is a :class:`FeatureDef` (subject x measure x window / half-life).
Its name is derived from those parts and parses back to them, and the same parts
produce a human description and, with a customer's value and points, a reason
sentence. Explanations group features by :attr:`FeatureDef.group` (all windows
and decays of one event type are one reason; the RFM measures are one reason
each: recency, frequency, monetary ...).

Grammar (``<e>`` an event type, ``<w>`` days, ``<h>`` a half-life in days)::

    <e>_count_<w>d            events of type e in [cutoff - w days, cutoff)
    <e>_count_total           events of type e before the cutoff
    <e>_decayed_hl<h>         sum of 2^(-age_days / h) over events of type e before the cutoff
    days_since_last_<e>       days from the last event of type e to the cutoff
    <e>_value_mean_<w>d       mean numeric value of events of type e in the window
    events_count_<w>d         all interactions in the window
    active_days_<w>d          distinct days with any interaction or purchase in the window
    activity_trend_<w>d       events in the last w days / (events in the w days before + 1)
    days_since_last_activity  days from the last interaction or purchase
    tenure_days               days from the first known activity (or signup) to the cutoff
    channel_<c>_share_<w>d    share of interactions through channel c in the window
    days_since_last_purchase
    purchase_count_<w>d / purchase_count_total
    amount_sum_<w>d / amount_sum_total / amount_mean_<w>d / amount_mean_total
    purchase_gap_mean_days / purchase_gap_std_days
    purchase_overdue_ratio    days since last purchase / mean gap between purchases
    refund_count_total / refund_amount_total
    attr_<name>               a static attribute of the customers table

Examples
--------
>>> d = parse_feature_name("pricing_view_count_7d")
>>> (d.subject, d.measure, d.window_days)
('pricing_view', 'count', 7)
>>> describe(d, "en")
'number of pricing page visits in the last 7 days'
>>> reason_sentence(d, 3, 12.4, "en")
'Visited the pricing page 3 times in the last 7 days: +12 points'
>>> reason_sentence(parse_feature_name("days_since_last_purchase"), 120, 25, "fr", risk=True)
'Aucun achat depuis 120 jours : +25 points de risque'
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "EVENT_PHRASES",
    "FeatureDef",
    "Language",
    "describe",
    "feature_name",
    "format_points",
    "parse_feature_name",
    "reason_sentence",
]

Language = Literal["en", "fr"]

Family = Literal["engagement", "activity", "rfm", "channel", "value", "static"]


@dataclass(frozen=True)
class FeatureDef:
    """One feature: what it measures, over which window, and its reason group.

    ``subject`` is an event type, ``"purchase"``, ``"activity"``, a channel or an
    attribute name; ``measure`` is one of the grammar's measures.
    """

    subject: str
    measure: str
    window_days: int | None = None
    half_life_days: int | None = None

    @property
    def name(self) -> str:
        return feature_name(self)

    @property
    def family(self) -> Family:
        m = self.measure
        if m == "attribute":
            return "static"
        if m == "channel_share":
            return "channel"
        if m == "value_mean":
            return "value"
        if self.subject == "purchase":
            return "rfm"
        if self.subject == "activity":
            return "activity"
        return "engagement"

    @property
    def group(self) -> str:
        """Reason group: features that describe the same thing explain together."""
        m = self.measure
        if m == "attribute":
            return f"attr_{self.subject}"
        if m == "channel_share":
            return "channel_mix"
        if self.subject == "purchase":
            if m == "days_since_last" or m == "overdue_ratio":
                return "rfm_recency"
            if m in ("count", "gap_mean", "gap_std"):
                return "rfm_frequency"
            if m in ("refund_count", "refund_amount"):
                return "rfm_refunds"
            return "rfm_monetary"
        if self.subject == "activity":
            if m == "tenure":
                return "tenure"
            return "activity"
        return self.subject  # one event type = one reason (counts, decays, recency, values)


_MEASURES_SIMPLE = {
    "days_since_last_activity": FeatureDef("activity", "days_since_last"),
    "tenure_days": FeatureDef("activity", "tenure"),
    "days_since_last_purchase": FeatureDef("purchase", "days_since_last"),
    "purchase_count_total": FeatureDef("purchase", "count"),
    "amount_sum_total": FeatureDef("purchase", "amount_sum"),
    "amount_mean_total": FeatureDef("purchase", "amount_mean"),
    "purchase_gap_mean_days": FeatureDef("purchase", "gap_mean"),
    "purchase_gap_std_days": FeatureDef("purchase", "gap_std"),
    "purchase_overdue_ratio": FeatureDef("purchase", "overdue_ratio"),
    "refund_count_total": FeatureDef("purchase", "refund_count"),
    "refund_amount_total": FeatureDef("purchase", "refund_amount"),
}
_SIMPLE_BY_DEF = {v: k for k, v in _MEASURES_SIMPLE.items()}


def feature_name(d: FeatureDef) -> str:
    """The regular name of a feature (inverse of :func:`parse_feature_name`)."""
    if d in _SIMPLE_BY_DEF:
        return _SIMPLE_BY_DEF[d]
    s, m, w, h = d.subject, d.measure, d.window_days, d.half_life_days
    if m == "attribute":
        return f"attr_{s}"
    if m == "channel_share":
        return f"channel_{s}_share_{w}d"
    if s == "activity":
        if m == "count":
            return f"events_count_{w}d"
        if m in ("active_days", "trend"):
            return f"{'active_days' if m == 'active_days' else 'activity_trend'}_{w}d"
    if s == "purchase":
        if m == "count":
            return f"purchase_count_{w}d"
        if m in ("amount_sum", "amount_mean"):
            return f"{m}_{w}d"
    if m == "count":
        return f"{s}_count_{w}d" if w is not None else f"{s}_count_total"
    if m == "decayed":
        return f"{s}_decayed_hl{h}"
    if m == "days_since_last":
        return f"days_since_last_{s}"
    if m == "value_mean":
        return f"{s}_value_mean_{w}d"
    raise ValueError(f"no name for feature {d!r}")


_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^attr_(?P<s>.+)$"), "attribute"),
    (re.compile(r"^channel_(?P<s>.+)_share_(?P<w>\d+)d$"), "channel_share"),
    (re.compile(r"^events_count_(?P<w>\d+)d$"), "activity_count"),
    (re.compile(r"^active_days_(?P<w>\d+)d$"), "active_days"),
    (re.compile(r"^activity_trend_(?P<w>\d+)d$"), "trend"),
    (re.compile(r"^purchase_count_(?P<w>\d+)d$"), "purchase_count"),
    (re.compile(r"^(?P<m>amount_sum|amount_mean)_(?P<w>\d+)d$"), "amount"),
    (re.compile(r"^(?P<s>.+)_count_(?P<w>\d+)d$"), "count"),
    (re.compile(r"^(?P<s>.+)_count_total$"), "count_total"),
    (re.compile(r"^(?P<s>.+)_decayed_hl(?P<h>\d+)$"), "decayed"),
    (re.compile(r"^days_since_last_(?P<s>.+)$"), "days_since_last"),
    (re.compile(r"^(?P<s>.+)_value_mean_(?P<w>\d+)d$"), "value_mean"),
]


def parse_feature_name(name: str) -> FeatureDef:
    """Parse a feature name of the grammar back into its parts.

    Raises ``ValueError`` for a name outside the grammar.
    """
    if name in _MEASURES_SIMPLE:
        return _MEASURES_SIMPLE[name]
    for pattern, kind in _PATTERNS:
        m = pattern.match(name)
        if not m:
            continue
        g = m.groupdict()
        w = int(g["w"]) if g.get("w") else None
        if kind == "attribute":
            return FeatureDef(g["s"], "attribute")
        if kind == "channel_share":
            return FeatureDef(g["s"], "channel_share", w)
        if kind == "activity_count":
            return FeatureDef("activity", "count", w)
        if kind == "active_days":
            return FeatureDef("activity", "active_days", w)
        if kind == "trend":
            return FeatureDef("activity", "trend", w)
        if kind == "purchase_count":
            return FeatureDef("purchase", "count", w)
        if kind == "amount":
            return FeatureDef("purchase", g["m"], w)
        if kind == "count":
            return FeatureDef(g["s"], "count", w)
        if kind == "count_total":
            return FeatureDef(g["s"], "count")
        if kind == "decayed":
            return FeatureDef(g["s"], "decayed", None, int(g["h"]))
        if kind == "days_since_last":
            return FeatureDef(g["s"], "days_since_last")
        if kind == "value_mean":
            return FeatureDef(g["s"], "value_mean", w)
    raise ValueError(f"{name!r} is not a feature name of the mlscore grammar")


# ------------------------------------------------------------------ phrasebook
#
# Per event type, in each language:
#   noun:   plural noun phrase used in descriptions ("pricing page visits")
#   did:    sentence with the count, {n} = number, {times} = "times"/"fois" word
#   never:  sentence for a zero count
#   since:  recency sentence, {d} = days


@dataclass(frozen=True)
class _Phrases:
    noun: str
    did: str
    never: str
    since: str


EVENT_PHRASES: dict[str, dict[str, _Phrases]] = {
    "page_view": {
        "en": _Phrases(
            "page visits", "Visited {n} page{s}", "Visited no page", "Last page visit {d} days ago"
        ),
        "fr": _Phrases(
            "visites de pages",
            "A visité {n} page{s}",
            "N'a visité aucune page",
            "Dernière visite de page il y a {d} jours",
        ),
    },
    "pricing_view": {
        "en": _Phrases(
            "pricing page visits",
            "Visited the pricing page {n} time{s}",
            "Never visited the pricing page",
            "Last pricing page visit {d} days ago",
        ),
        "fr": _Phrases(
            "visites de la page tarifs",
            "A consulté la page tarifs {n} fois",
            "N'a pas consulté la page tarifs",
            "Dernière visite de la page tarifs il y a {d} jours",
        ),
    },
    "email_open": {
        "en": _Phrases(
            "email opens",
            "Opened {n} email{s}",
            "Opened no email",
            "Last email opened {d} days ago",
        ),
        "fr": _Phrases(
            "ouvertures d'e-mails",
            "A ouvert {n} e-mail{s}",
            "N'a ouvert aucun e-mail",
            "Dernier e-mail ouvert il y a {d} jours",
        ),
    },
    "email_click": {
        "en": _Phrases(
            "email clicks",
            "Clicked in {n} email{s}",
            "Clicked in no email",
            "Last email click {d} days ago",
        ),
        "fr": _Phrases(
            "clics dans les e-mails",
            "A cliqué dans {n} e-mail{s}",
            "N'a cliqué dans aucun e-mail",
            "Dernier clic dans un e-mail il y a {d} jours",
        ),
    },
    "ebook_download": {
        "en": _Phrases(
            "ebook downloads",
            "Downloaded {n} ebook{s}",
            "Downloaded no ebook",
            "Last ebook download {d} days ago",
        ),
        "fr": _Phrases(
            "téléchargements d'e-books",
            "A téléchargé {n} e-book{s}",
            "N'a téléchargé aucun e-book",
            "Dernier e-book téléchargé il y a {d} jours",
        ),
    },
    "webinar_attended": {
        "en": _Phrases(
            "webinars attended",
            "Attended {n} webinar{s}",
            "Attended no webinar",
            "Last webinar attended {d} days ago",
        ),
        "fr": _Phrases(
            "webinaires suivis",
            "A suivi {n} webinaire{s}",
            "N'a suivi aucun webinaire",
            "Dernier webinaire suivi il y a {d} jours",
        ),
    },
    "form_submit": {
        "en": _Phrases(
            "contact forms submitted",
            "Submitted {n} contact form{s}",
            "Submitted no contact form",
            "Last contact form {d} days ago",
        ),
        "fr": _Phrases(
            "formulaires de contact envoyés",
            "A envoyé {n} formulaire{s} de contact",
            "N'a envoyé aucun formulaire de contact",
            "Dernier formulaire de contact il y a {d} jours",
        ),
    },
    "social_interaction": {
        "en": _Phrases(
            "social media interactions",
            "Interacted {n} time{s} on social media",
            "No social media interaction",
            "Last social media interaction {d} days ago",
        ),
        "fr": _Phrases(
            "interactions sur les réseaux sociaux",
            "A interagi {n} fois sur les réseaux sociaux",
            "Aucune interaction sur les réseaux sociaux",
            "Dernière interaction sur les réseaux sociaux il y a {d} jours",
        ),
    },
    "support_contact": {
        "en": _Phrases(
            "support contacts",
            "Contacted support {n} time{s}",
            "Never contacted support",
            "Last support contact {d} days ago",
        ),
        "fr": _Phrases(
            "contacts avec le support",
            "A contacté le support {n} fois",
            "N'a jamais contacté le support",
            "Dernier contact avec le support il y a {d} jours",
        ),
    },
    "survey_response": {
        "en": _Phrases(
            "survey answers",
            "Answered {n} survey{s}",
            "Answered no survey",
            "Last survey answer {d} days ago",
        ),
        "fr": _Phrases(
            "réponses aux enquêtes",
            "A répondu à {n} enquête{s}",
            "N'a répondu à aucune enquête",
            "Dernière réponse à une enquête il y a {d} jours",
        ),
    },
}


def _event_phrases(event: str, lang: Language) -> _Phrases:
    if event in EVENT_PHRASES:
        return EVENT_PHRASES[event][lang]
    label = event.replace("_", " ")
    if lang == "fr":
        return _Phrases(
            f"événements « {label} »",
            f"{{n}} événement{{s}} « {label} »",
            f"Aucun événement « {label} »",
            f"Dernier événement « {label} » il y a {{d}} jours",
        )
    return _Phrases(
        f"'{label}' events",
        f"{{n}} '{label}' event{{s}}",
        f"No '{label}' event",
        f"Last '{label}' event {{d}} days ago",
    )


def _window(w: int | None, lang: Language) -> str:
    if w is None:
        return "ever" if lang == "en" else "depuis toujours"
    if w == 1:
        return "yesterday" if lang == "en" else "la veille"
    return f"in the last {w} days" if lang == "en" else f"sur les {w} derniers jours"


def describe(d: FeatureDef, lang: Language = "en") -> str:
    """Human description of a feature (lower case, no value).

    Examples
    --------
    >>> describe(parse_feature_name("email_click_decayed_hl14"), "fr")
    'clics dans les e-mails, pondérés par ancienneté (demi-vie 14 jours)'
    """
    en = lang == "en"
    s, m, w = d.subject, d.measure, d.window_days
    if m == "attribute":
        return f"customer attribute '{s}'" if en else f"attribut client « {s} »"
    if m == "channel_share":
        return (
            f"share of interactions via {s} {_window(w, lang)}"
            if en
            else f"part des interactions via {s} {_window(w, lang)}"
        )
    if s == "activity":
        table = {
            "days_since_last": (
                "days since the last activity",
                "jours depuis la dernière activité",
            ),
            "tenure": ("days since the first activity", "jours depuis la première activité"),
            "count": (
                f"number of interactions {_window(w, lang)}",
                f"nombre d'interactions {_window(w, lang)}",
            ),
            "active_days": (f"active days {_window(w, lang)}", f"jours actifs {_window(w, lang)}"),
            "trend": (
                f"activity trend (last {w} days vs the {w} days before)",
                f"tendance d'activité ({w} derniers jours vs les {w} jours précédents)",
            ),
        }
        return table[m][0 if en else 1]
    if s == "purchase":
        table = {
            "days_since_last": ("days since the last purchase", "jours depuis le dernier achat"),
            "count": (
                f"number of purchases {_window(w, lang)}",
                f"nombre d'achats {_window(w, lang)}",
            ),
            "amount_sum": (
                f"amount spent {_window(w, lang)}",
                f"montant dépensé {_window(w, lang)}",
            ),
            "amount_mean": (
                f"average basket {_window(w, lang)}",
                f"panier moyen {_window(w, lang)}",
            ),
            "gap_mean": (
                "average days between purchases",
                "nombre moyen de jours entre deux achats",
            ),
            "gap_std": (
                "spread of days between purchases",
                "dispersion des jours entre deux achats",
            ),
            "overdue_ratio": (
                "days since the last purchase relative to the usual gap",
                "jours depuis le dernier achat rapportés à l'intervalle habituel",
            ),
            "refund_count": ("number of refunds", "nombre de remboursements"),
            "refund_amount": ("amount refunded", "montant remboursé"),
        }
        return table[m][0 if en else 1]
    ph = _event_phrases(s, lang)
    if m == "count":
        return (
            f"number of {ph.noun} {_window(w, lang)}"
            if en
            else f"nombre de {ph.noun} {_window(w, lang)}"
        )
    if m == "decayed":
        return (
            f"{ph.noun}, weighted by recency (half-life {d.half_life_days} days)"
            if en
            else f"{ph.noun}, pondérés par ancienneté (demi-vie {d.half_life_days} jours)"
        )
    if m == "days_since_last":
        return (
            f"days since the last of the {ph.noun}"
            if en
            else f"jours depuis la dernière des {ph.noun}"
        )
    if m == "value_mean":
        return (
            f"average score of {ph.noun} {_window(w, lang)}"
            if en
            else f"note moyenne des {ph.noun} {_window(w, lang)}"
        )
    raise ValueError(f"no description for feature {d!r}")


def format_points(points: float, lang: Language = "en", *, risk: bool = False) -> str:
    """Signed points, rounded to whole points: ``+12 points`` / ``−3 points de risque``.

    Examples
    --------
    >>> format_points(-2.6)
    '-3 points'
    """
    p = math.floor(abs(points) + 0.5) * (1 if points >= 0 else -1)
    sign = "+" if p >= 0 else "-"
    unit = "point" if abs(p) <= 1 and lang == "en" else "points"
    if lang == "fr":
        unit = "point" if abs(p) <= 1 else "points"
        return f"{sign}{abs(p)} {unit}" + (" de risque" if risk else "")
    return f"{sign}{abs(p)} {unit}" + (" of risk" if risk else "")


def _num(x: float | None, lang: Language) -> str:
    if x is None:
        return "?"
    if float(x).is_integer():
        return str(int(x))
    s = f"{x:.1f}"
    return s.replace(".", ",") if lang == "fr" else s


def _value_phrase(d: FeatureDef, value: float | str | None, lang: Language) -> str:
    """The customer's situation on one feature, as the start of a sentence."""
    en = lang == "en"
    s, m, w = d.subject, d.measure, d.window_days
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    if m == "attribute":
        return (
            f"{s.replace('_', ' ').capitalize()}: {value}"
            if en
            else f"{s.replace('_', ' ').capitalize()} : {value}"
        )
    assert not isinstance(value, str)
    v = None if missing else float(value)  # type: ignore[arg-type]
    if m == "channel_share":
        pct = 0 if v is None else round(100 * v)
        return (
            f"{pct}% of interactions via {s} {_window(w, lang)}"
            if en
            else f"{pct} % des interactions via {s} {_window(w, lang)}"
        )
    if s == "activity":
        if m in ("days_since_last", "tenure") and v is None:
            return "No activity yet" if en else "Aucune activité pour l'instant"
        if m == "days_since_last":
            return (
                f"Last activity {_num(v, lang)} days ago"
                if en
                else f"Dernière activité il y a {_num(v, lang)} jours"
            )
        if m == "tenure":
            return (
                f"Known for {_num(v, lang)} days" if en else f"Connu depuis {_num(v, lang)} jours"
            )
        n = 0 if v is None else v
        if m == "count":
            return f"{_num(n, lang)} interactions {_window(w, lang)}"
        if m == "active_days":
            return (
                f"Active on {_num(n, lang)} days {_window(w, lang)}"
                if en
                else f"Actif {_num(n, lang)} jours {_window(w, lang)}"
            )
        if m == "trend":
            return (
                f"Activity trend {_num(round(n, 1), lang)}× (last {w} days vs the {w} before)"
                if en
                else f"Tendance d'activité {_num(round(n, 1), lang)}× ({w} derniers jours vs les {w} précédents)"
            )
    if s == "purchase":
        if m == "days_since_last":
            if v is None:
                return "No purchase yet" if en else "Aucun achat pour l'instant"
            return (
                f"No purchase for {_num(v, lang)} days"
                if en
                else f"Aucun achat depuis {_num(v, lang)} jours"
            )
        n = 0.0 if v is None else v
        if m == "count":
            if n == 0:
                return (
                    f"No purchase {_window(w, lang)}" if en else f"Aucun achat {_window(w, lang)}"
                )
            return (
                f"{_num(n, lang)} purchase{'s' if n != 1 else ''} {_window(w, lang)}"
                if en
                else f"{_num(n, lang)} achat{'s' if n > 1 else ''} {_window(w, lang)}"
            )
        if m == "amount_sum":
            return (
                f"Spent {_num(round(n), lang)} {_window(w, lang)}"
                if en
                else f"A dépensé {_num(round(n), lang)} {_window(w, lang)}"
            )
        if m == "amount_mean":
            return (
                f"Average basket {_num(round(n), lang)} {_window(w, lang)}"
                if en
                else f"Panier moyen {_num(round(n), lang)} {_window(w, lang)}"
            )
        if m == "gap_mean":
            return (
                "Not enough purchases to know the usual gap"
                if v is None and en
                else "Pas assez d'achats pour connaître l'intervalle habituel"
                if v is None
                else f"Buys every {_num(round(n), lang)} days on average"
                if en
                else f"Achète en moyenne tous les {_num(round(n), lang)} jours"
            )
        if m == "gap_std":
            return (
                f"Gap between purchases varies by {_num(round(n), lang)} days"
                if en
                else f"L'intervalle entre achats varie de {_num(round(n), lang)} jours"
            )
        if m == "overdue_ratio":
            if v is None:
                return (
                    "No usual purchase rhythm yet"
                    if en
                    else "Pas encore de rythme d'achat habituel"
                )
            return (
                f"Next purchase {_num(round(n, 1), lang)}× the usual gap overdue"
                if en
                else f"Prochain achat en retard de {_num(round(n, 1), lang)}× l'intervalle habituel"
            )
        if m == "refund_count":
            return (
                f"{_num(n, lang)} refund{'s' if n != 1 else ''}"
                if en
                else f"{_num(n, lang)} remboursement{'s' if n > 1 else ''}"
            )
        if m == "refund_amount":
            return f"Refunded {_num(round(n), lang)}" if en else f"Remboursé {_num(round(n), lang)}"
    ph = _event_phrases(s, lang)
    if m == "days_since_last":
        if v is None:
            return ph.never
        return ph.since.format(d=_num(v, lang))
    if m == "value_mean":
        if v is None:
            return ph.never
        return (
            f"Average {ph.noun.rstrip('s')} score {_num(round(v, 1), lang)}/10 {_window(w, lang)}"
            if en
            else f"Note moyenne {_num(round(v, 1), lang)}/10 ({ph.noun}) {_window(w, lang)}"
        )
    n = 0.0 if v is None else v
    if m == "decayed":
        if n < 0.05:
            return ph.never
        # one decimal says something for small weighted counts; above 10 it is noise
        approx = "~" + _num(round(n, 1) if n < 10 else round(n), lang)
        return (
            f"{ph.did.format(n=approx, s='s')} recently (recency-weighted)"
            if en
            else f"{ph.did.format(n=approx, s='s')} récemment (pondéré par ancienneté)"
        )
    if m == "count":
        if n == 0:
            return f"{ph.never} {_window(w, lang)}"
        plural = "s" if n != 1 else ""
        if lang == "fr":
            plural = "s" if n > 1 else ""
        return f"{ph.did.format(n=_num(n, lang), s=plural)} {_window(w, lang)}"
    raise ValueError(f"no sentence for feature {d!r}")


def reason_sentence(
    d: FeatureDef,
    value: float | str | None,
    points: float,
    lang: Language = "en",
    *,
    risk: bool = False,
) -> str:
    """A reason in words: the customer's own value and its effect in points.

    ``risk=True`` words the points as risk points (churn targets).
    """
    sep = ": " if lang == "en" else " : "
    return f"{_value_phrase(d, value, lang)}{sep}{format_points(points, lang, risk=risk)}"
