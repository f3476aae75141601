"""Simulation internals of the synthetic world (see :mod:`mlscore.data.synthetic`).

Everything here is vectorised over a chunk of customers: the only Python loops
run over weeks (the intent AR(1) process) and over the ten event types. One call
of :func:`simulate_chunk` returns plain NumPy arrays; writing them is the job of
:mod:`mlscore.data.synthetic`.

Time grid: day ``d`` (0-based) is ``start + d``; the world covers days
``0 .. days - 1``. With ``period_days = k`` every daily quantity that enters the
ground truth (intent, purchase probability) is evaluated at the first day of its
``k``-day period and held constant over the period, so ``truth.parquet`` with one
row per period is still exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlscore.config import SEED_EVENTS

__all__ = [
    "ACQUISITION_CHANNELS",
    "AGE_BANDS",
    "CHANNELS",
    "COUNTRIES",
    "EVENTS",
    "EVENT_BASE_RATE",
    "EVENT_SIGNAL_STRENGTH",
    "PLANS",
    "ChunkResult",
    "WorldParams",
    "simulate_chunk",
]

#: Event vocabulary, in the order used for integer codes.
EVENTS: tuple[str, ...] = SEED_EVENTS

#: True signal strength of each event type: the elasticity ``b`` in
#: ``rate = base_rate * propensity * intent ** b * seasonality``. ``0`` means the
#: event carries no information about purchase intent.
EVENT_SIGNAL_STRENGTH: dict[str, float] = {
    "page_view": 0.0,
    "pricing_view": 0.9,
    "email_open": 0.3,
    "email_click": 1.4,
    "ebook_download": 0.3,
    "webinar_attended": 0.4,
    "form_submit": 0.8,
    "social_interaction": 0.0,
    "support_contact": 1.0,
    "survey_response": 0.6,
}

#: Mean daily rate of each event type for an active customer at the median intent
#: level (``intent = exp(intent_mean)``, about 0.67), before day-of-week profiles.
EVENT_BASE_RATE: dict[str, float] = {
    "page_view": 0.20,
    "pricing_view": 0.08,
    "email_open": 0.12,
    "email_click": 0.10,
    "ebook_download": 0.015,
    "webinar_attended": 0.006,
    "form_submit": 0.002,
    "social_interaction": 0.04,
    "support_contact": 0.05,
    "survey_response": 0.02,
}

CHANNELS: tuple[str, ...] = ("web", "mobile", "email", "social", "phone", "chat")
_EVENT_CHANNELS: dict[str, dict[str, float]] = {
    "page_view": {"web": 0.6, "mobile": 0.4},
    "pricing_view": {"web": 0.7, "mobile": 0.3},
    "email_open": {"email": 1.0},
    "email_click": {"email": 1.0},
    "ebook_download": {"web": 1.0},
    "webinar_attended": {"web": 1.0},
    "form_submit": {"web": 0.8, "mobile": 0.2},
    "social_interaction": {"social": 1.0},
    "support_contact": {"phone": 0.3, "chat": 0.5, "email": 0.2},
    "survey_response": {"email": 1.0},
}

# Day-of-week profiles (Monday first), normalised to mean 1 below. Emails go out
# on Tuesdays (the weekly campaign): opens and clicks cluster on Tuesday-Thursday.
_EMAIL_WEEK = (0.15, 4.0, 1.6, 0.6, 0.3, 0.15, 0.2)
_OFFICE_WEEK = (1.2, 1.2, 1.2, 1.2, 1.1, 0.5, 0.4)
_LEISURE_WEEK = (0.9, 0.9, 0.9, 0.9, 1.0, 1.25, 1.15)
_EVENT_WEEK: dict[str, tuple[float, ...]] = {
    "page_view": _LEISURE_WEEK,
    "pricing_view": _LEISURE_WEEK,
    "email_open": _EMAIL_WEEK,
    "email_click": _EMAIL_WEEK,
    "ebook_download": _OFFICE_WEEK,
    "webinar_attended": (0.2, 0.4, 4.5, 1.5, 0.2, 0.1, 0.1),
    "form_submit": _OFFICE_WEEK,
    "social_interaction": _LEISURE_WEEK,
    "support_contact": _OFFICE_WEEK,
    "survey_response": _EMAIL_WEEK,
}
_PURCHASE_WEEK = (0.9, 0.9, 0.95, 1.0, 1.05, 1.15, 1.05)

COUNTRIES: tuple[str, ...] = ("FR", "DE", "ES", "IT", "GB")
_COUNTRY_P = (0.35, 0.25, 0.15, 0.15, 0.10)
PLANS: tuple[str, ...] = ("free", "basic", "premium")
_PLAN_P = (0.5, 0.35, 0.15)
_PLAN_LOGINTENT = (-0.25, 0.1, 0.45)
AGE_BANDS: tuple[str, ...] = ("18-24", "25-34", "35-44", "45-54", "55+")
_AGE_P = (0.15, 0.3, 0.25, 0.18, 0.12)
ACQUISITION_CHANNELS: tuple[str, ...] = ("organic", "paid_search", "social_ads", "referral")
_ACQ_P = (0.4, 0.3, 0.2, 0.1)
_ACQ_LOGINTENT = (0.0, -0.05, -0.3, 0.4)


@dataclass(frozen=True)
class WorldParams:
    """Knobs of the simulated world (defaults tuned for the documented AUCs)."""

    days: int
    start_dow: int  # 0 = Monday
    start_doy: int  # day of year of day 0 (0-based)
    period_days: int = 1
    intent_sd: float = 1.0  # sd of the persistent per-customer log-intent
    drift_sd: float = 0.25  # stationary sd of the weekly AR(1) log-intent deviation
    drift_rho: float = 0.98  # weekly autocorrelation of the deviation
    intent_mean: float = -0.4
    churn_fraction: float = 0.35  # customers whose intent decays to zero at some date
    churn_tau_days: float = 21.0  # e-folding time of the decay
    purchase_rate: float = 0.012  # daily purchase hazard at intent 1
    purchase_season: float = 0.25  # amplitude of the yearly purchase cycle (peak mid-December)
    event_season: float = 0.10
    preexisting_fraction: float = 0.4  # customers signed up before day 0
    refund_fraction: float = 0.03


@dataclass
class ChunkResult:
    """Arrays of one customer chunk (customer index is local to the chunk)."""

    signup_day: np.ndarray  # int64, may be negative (signed up before the world starts)
    consent: np.ndarray  # bool
    country: np.ndarray  # int8 codes
    plan: np.ndarray
    age_band: np.ndarray
    acquisition: np.ndarray
    # interactions
    ev_customer: np.ndarray  # int64 local index
    ev_second: np.ndarray  # int64 seconds since day 0 00:00
    ev_code: np.ndarray  # int8 index into EVENTS
    ev_channel: np.ndarray  # int8 index into CHANNELS
    ev_value: np.ndarray  # float64, NaN except survey_response
    # transactions (purchases and refunds)
    tx_customer: np.ndarray
    tx_second: np.ndarray
    tx_amount: np.ndarray
    tx_quantity: np.ndarray
    tx_order: np.ndarray  # int64 order number local to the chunk (refunds reuse it)
    # truth (one row per customer and period from the first active period)
    truth_customer: np.ndarray
    truth_day: np.ndarray
    truth_intent: np.ndarray
    truth_p: np.ndarray


def _profile(week: tuple[float, ...]) -> np.ndarray:
    w = np.asarray(week, dtype=np.float64)
    return w / w.mean()


def _categorical(rng: np.random.Generator, p: tuple[float, ...], n: int) -> np.ndarray:
    return np.searchsorted(np.cumsum(p), rng.random(n) * sum(p), side="right").astype(np.int8)


def _sample_event_cells(
    rng: np.random.Generator, rate: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Draw a non-homogeneous Poisson process per row of ``rate`` (n x days).

    Totals per customer are Poisson(row sum); each event then falls in a day with
    probability proportional to that day's rate (inverse CDF on the flattened
    cumulative sum, so days with rate 0 are never chosen). Returns customer and
    day indices.
    """
    n, d = rate.shape
    flat = np.cumsum(rate, axis=None, dtype=np.float64)
    totals = rate.sum(axis=1, dtype=np.float64)
    counts = rng.poisson(totals)
    cust = np.repeat(np.arange(n, dtype=np.int64), counts)
    if cust.size == 0:
        return cust, cust.copy()
    row_end = flat[np.arange(1, n + 1) * d - 1]
    row_start = row_end - totals
    u = row_start[cust] + rng.random(cust.size) * totals[cust]
    cell = np.searchsorted(flat, u, side="right")
    # guard against float round-off at a row end: take the row's last positive day
    last_pos = d - 1 - np.argmax(rate[:, ::-1] > 0, axis=1)
    cell = np.minimum(cell, cust * d + last_pos[cust])
    return cust, cell - cust * d


def simulate_chunk(rng: np.random.Generator, n: int, prm: WorldParams) -> ChunkResult:
    """Simulate ``n`` customers over ``prm.days`` days (see module docstring).

    Intent is piecewise constant over blocks of ``B`` days (``B = 7`` when
    ``period_days == 1``, else ``B = period_days``). Purchases are daily Bernoulli
    draws; events are drawn per block (Poisson) and then placed on a day of the
    block in proportion to the event's day-of-week and yearly profile.
    """
    d = prm.days
    k = prm.period_days
    blk = 7 if k == 1 else k
    nb = (d + blk - 1) // blk
    day_idx = np.arange(d, dtype=np.int64)
    block_of_day = day_idx // blk
    block_start = np.arange(nb, dtype=np.int64) * blk
    block_end = np.minimum(block_start + blk, d)

    # ---- static attributes and signup
    country = _categorical(rng, _COUNTRY_P, n)
    plan = _categorical(rng, _PLAN_P, n)
    age_band = _categorical(rng, _AGE_P, n)
    acquisition = _categorical(rng, _ACQ_P, n)
    consent = rng.random(n) >= 0.03
    pre = rng.random(n) < prm.preexisting_fraction
    signup = np.where(
        pre,
        -rng.integers(1, 366, n),
        rng.integers(0, max(d - 1, 1), n),
    ).astype(np.int64)
    if k > 1:
        signup = np.where(signup >= 0, (signup // k) * k, signup)
    first_active = np.maximum(signup, 0)

    # ---- latent log-intent per block: persistent level + AR(1) drift + churn decay
    level = (
        prm.intent_mean
        + prm.intent_sd * rng.standard_normal(n)
        + np.asarray(_PLAN_LOGINTENT)[plan]
        + np.asarray(_ACQ_LOGINTENT)[acquisition]
    )
    rho = prm.drift_rho ** (blk / 7.0)
    innov = prm.drift_sd * np.sqrt(1.0 - rho**2)
    dev = np.empty((n, nb), dtype=np.float64)
    dev[:, 0] = prm.drift_sd * rng.standard_normal(n)
    shocks = rng.standard_normal((n, nb))
    for w in range(1, nb):
        dev[:, w] = rho * dev[:, w - 1] + innov * shocks[:, w]
    churns = rng.random(n) < prm.churn_fraction
    churn_day = np.where(
        churns, first_active + rng.integers(0, 2 * d, n), np.iinfo(np.int64).max // 4
    )
    past = block_start[None, :] - churn_day[:, None]
    log_intent = level[:, None] + dev - np.where(past > 0, past / prm.churn_tau_days, 0.0)
    del past, dev, shocks
    intent_b = np.exp(log_intent)
    centred = log_intent - prm.intent_mean

    eval_day = day_idx if k == 1 else block_start[block_of_day]
    angle = 2 * np.pi * ((prm.start_doy + eval_day) % 365 - 350) / 365.0
    dow = (prm.start_dow + day_idx) % 7

    # ---- purchases: daily Bernoulli with the ground-truth probability
    pw = _profile(_PURCHASE_WEEK)[dow] if k == 1 else np.ones(d)
    lam_t = prm.purchase_rate * (1 + prm.purchase_season * np.cos(angle)) * pw
    p_day = -np.expm1(-intent_b[:, block_of_day] * lam_t[None, :])
    p_day[day_idx[None, :] < signup[:, None]] = 0.0
    buy = rng.random((n, d)) < p_day
    b_cust, b_day = np.nonzero(buy)
    del buy
    n_buy = b_cust.size
    cust_mean = rng.normal(np.log(45.0), 0.5, n)  # per-customer mean log basket value
    amount = np.round(np.exp(cust_mean[b_cust] + 0.45 * rng.standard_normal(n_buy)), 2)
    quantity = 1 + rng.poisson(0.6, n_buy)
    b_sec = b_day * 86400 + rng.integers(0, 86400, n_buy)
    order = np.arange(n_buy, dtype=np.int64)
    refund = rng.random(n_buy) < prm.refund_fraction
    r_sec = b_sec[refund] + rng.integers(1, 21, int(refund.sum())) * 86400
    r_keep = r_sec < d * 86400
    r_idx = np.flatnonzero(refund)[r_keep]
    tx_customer = np.concatenate([b_cust, b_cust[r_idx]])
    tx_second = np.concatenate([b_sec, r_sec[r_keep]])
    tx_amount = np.concatenate([amount, -amount[r_idx]])
    tx_quantity = np.concatenate([quantity, -quantity[r_idx]])
    tx_order = np.concatenate([order, order[r_idx]])
    o = np.argsort(tx_customer * (d * 86400) + tx_second, kind="stable")
    tx = (tx_customer[o], tx_second[o], tx_amount[o], tx_quantity[o], tx_order[o])

    # ---- interactions: per block Poisson counts, then a day inside the block
    ev_season = 1 + prm.event_season * np.cos(
        2 * np.pi * ((prm.start_doy + day_idx) % 365 - 350) / 365.0
    )
    lo = np.minimum(np.maximum(block_start[None, :], signup[:, None]), block_end[None, :])
    parts_c, parts_s, parts_code, parts_ch, parts_v = [], [], [], [], []
    for code, name in enumerate(EVENTS):
        b = EVENT_SIGNAL_STRENGTH[name]
        time_f = EVENT_BASE_RATE[name] * _profile(_EVENT_WEEK[name])[dow] * ev_season
        cum = np.concatenate([[0.0], np.cumsum(time_f)])
        mass_time = cum[block_end][None, :] - cum[lo]  # time weight of active days per block
        # per-customer taste, unrelated to intent (wider for the no-signal events)
        shape = 2.0 if b == 0.0 else 10.0
        propensity = rng.gamma(shape, 1.0 / shape, n)
        rate = mass_time * propensity[:, None]
        if b != 0.0:
            rate *= np.exp(b * centred)
        cust, cblk = _sample_event_cells(rng, rate)
        del rate
        m = cust.size
        low = lo[cust, cblk]
        u = cum[low] + rng.random(m) * mass_time[cust, cblk]
        day = np.clip(np.searchsorted(cum, u, side="right") - 1, low, block_end[cblk] - 1)
        parts_c.append(cust)
        parts_s.append(day * 86400 + rng.integers(0, 86400, m))
        parts_code.append(np.full(m, code, dtype=np.int8))
        ch_names = list(_EVENT_CHANNELS[name])
        ch_codes = np.array([CHANNELS.index(c) for c in ch_names], dtype=np.int8)
        parts_ch.append(ch_codes[_categorical(rng, tuple(_EVENT_CHANNELS[name].values()), m)])
        if name == "survey_response":
            z = centred[cust, cblk]
            v = np.clip(np.round(5.5 + 1.6 * z + 1.3 * rng.standard_normal(m)), 0, 10)
            parts_v.append(v.astype(np.float64))
        else:
            parts_v.append(np.full(m, np.nan))
    ev_c = np.concatenate(parts_c)
    ev_s = np.concatenate(parts_s)
    o = np.argsort(ev_c * (d * 86400) + ev_s, kind="stable")
    ev_c, ev_s = ev_c[o], ev_s[o]
    ev_code = np.concatenate(parts_code)[o]
    ev_ch = np.concatenate(parts_ch)[o]
    # drop the (rare) natural exact duplicates so that --dirty counts are exact
    same = (ev_c[1:] == ev_c[:-1]) & (ev_s[1:] == ev_s[:-1])
    same &= (ev_code[1:] == ev_code[:-1]) & (ev_ch[1:] == ev_ch[:-1])
    first = np.concatenate([[True], ~same])
    o = o[first]

    # ---- truth rows: one per period from the first active period
    periods = day_idx[::k]
    keep = periods[None, :] >= (first_active // k * k)[:, None]
    t_cust, t_j = np.nonzero(keep)
    t_day = periods[t_j]
    return ChunkResult(
        signup_day=signup,
        consent=consent,
        country=country,
        plan=plan,
        age_band=age_band,
        acquisition=acquisition,
        ev_customer=ev_c[first],
        ev_second=ev_s[first],
        ev_code=ev_code[first],
        ev_channel=ev_ch[first],
        ev_value=np.concatenate(parts_v)[o],
        tx_customer=tx[0],
        tx_second=tx[1],
        tx_amount=tx[2],
        tx_quantity=tx[3],
        tx_order=tx[4],
        truth_customer=t_cust,
        truth_day=t_day,
        truth_intent=intent_b[t_cust, t_day // blk],
        truth_p=p_day[t_cust, t_day],
    )
