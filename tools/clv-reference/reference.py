"""Reference figures for Xeno's customer-lifetime models, from the `lifetimes` package (the
reference implementation of BG/NBD and Gamma-Gamma), on the CDNOW sample the papers use.

    python tools/clv-reference/reference.py OUT_DIR

writes OUT_DIR/cdnow.csv: each customer's history (frequency, recency, T in weeks, mean
spend) and what `lifetimes`, fitted on the whole sample, predicts for them: P(alive),
purchases expected in the next 39 weeks, and expected spend per purchase; and
OUT_DIR/params.csv: the fitted parameters. Xeno's tests fit the same data themselves and
compare.
"""
import csv
import os
import sys

from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
data = load_cdnow_summary_data_with_monetary_value()
bgf = BetaGeoFitter(penalizer_coef=0.0)
bgf.fit(data["frequency"], data["recency"], data["T"])
repeat = data[data["frequency"] > 0]
ggf = GammaGammaFitter(penalizer_coef=0.0)
ggf.fit(repeat["frequency"], repeat["monetary_value"])

alive = bgf.conditional_probability_alive(data["frequency"], data["recency"], data["T"])
expected = bgf.conditional_expected_number_of_purchases_up_to_time(
    39, data["frequency"], data["recency"], data["T"]
)
spend = ggf.conditional_expected_average_profit(data["frequency"], data["monetary_value"])

with open(os.path.join(out, "cdnow.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["frequency", "recency", "T", "monetary_value", "p_alive", "expected_39", "expected_spend"])
    for i, (_, row) in enumerate(data.iterrows()):
        w.writerow([row["frequency"], row["recency"], row["T"], row["monetary_value"],
                    repr(float(alive[i])), repr(float(expected.iloc[i])), repr(float(spend.iloc[i]))])

with open(os.path.join(out, "params.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["name", "value"])
    for name, value in list(bgf.params_.items()) + list(ggf.params_.items()):
        w.writerow([name, repr(float(value))])
print(f"lifetimes reference written to {out}")
