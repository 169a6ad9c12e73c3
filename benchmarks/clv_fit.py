"""How long the CLV fits take on 1,000,000 customers (target: under 30 s for both fits).

Simulates BG/NBD purchase histories with the CDNOW estimates of Fader, Hardie and Lee (2005)
(r = 0.243, alpha = 4.414 weeks, a = 0.793, b = 2.426) and lognormal order values, over
customers whose first purchase falls in the last three years, then times our summary helper,
the compressed BG/NBD and Gamma-Gamma fits and the CLV prediction.

Run: PYTHONPATH=src .venv/bin/python benchmarks/clv_fit.py [n_customers]
"""
from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from helpers.models import clv


def simulate_transactions(n_customers: int, seed: int = 2026, horizon_days: int = 1095) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Purchase lines (customer_id, order_date, amount) drawn from the BG/NBD process, vectorised
    over customers (the loop runs over successive purchases, not customers)."""
    rng = np.random.default_rng(seed)
    r, alpha_weeks, a, b = 0.243, 4.414, 0.793, 2.426
    rate = rng.gamma(r, 1 / (alpha_weeks * 7), n_customers)  # purchases per day
    dropout = rng.beta(a, b, n_customers)
    age = rng.integers(0, horizon_days + 1, n_customers).astype(float)  # days from first purchase to as-of
    spend_level = rng.lognormal(3.0, 0.6, n_customers)
    customer, when = [np.arange(n_customers)], [np.zeros(n_customers)]
    clock = np.zeros(n_customers)
    active = np.arange(n_customers)
    while active.size:
        clock[active] += rng.exponential(1 / rate[active])
        active = active[clock[active] <= age[active]]
        customer.append(active)
        when.append(clock[active].copy())
        active = active[rng.random(active.size) >= dropout[active]]  # drops out after a purchase
    customer = np.concatenate(customer)
    as_of = pd.Timestamp("2026-09-30")
    first_day = as_of - pd.to_timedelta(age, unit="D")
    dates = first_day.to_numpy()[customer] + pd.to_timedelta(np.floor(np.concatenate(when)), unit="D").to_numpy()
    amounts = spend_level[customer] * rng.gamma(6.0, 1 / 6.0, customer.size)
    frame = pd.DataFrame({"customer_id": customer, "order_date": dates, "amount": amounts.round(2)})
    return frame, as_of


def main(n_customers: int = 1_000_000) -> None:
    started = time.perf_counter()
    transactions, as_of = simulate_transactions(n_customers)
    print(f"simulated {len(transactions):,} purchase lines for {n_customers:,} customers in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    summary = clv.repeat_purchase_summary(transactions, as_of, time_unit="W")
    print(f"repeat_purchase_summary: {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    models = clv.fit_clv_models(summary, model="bgnbd")
    fit_seconds = time.perf_counter() - started
    with pd.option_context("display.width", 200, "display.max_colwidth", 80):
        print(models.fit_report[["model", "params", "converged", "penalizer", "n_customers", "n_unique_rows", "seconds"]].to_string(index=False))
    print(f"BG/NBD + Gamma-Gamma fit on {n_customers:,} customers: {fit_seconds:.1f} s (target < 30 s)")

    started = time.perf_counter()
    values = clv.predict_clv(models, summary)
    print(f"predict_clv: {time.perf_counter() - started:.1f} s; mean 12-month CLV {values['clv_12m'].mean():.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
