"""Synthesise a bank-churn data set shaped like the public "Churn_Modelling" data.

Deterministic: the same seed always gives byte-identical CSV output.
Usage: python models/generate_data.py [out.csv]   (default models/data/churn.csv)
"""
import sys
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261121
N_ROWS = 10_000
TARGET_RATE = 0.2037  # churn rate of the original data set
DEFAULT_OUT = Path(__file__).resolve().parent / "data" / "churn.csv"


def churn_logit(df: pd.DataFrame) -> np.ndarray:
    """Log-odds of churn before the intercept. Deliberately non-linear so that
    trees can beat a linear model (as on the real data)."""
    age = df["Age"].to_numpy(float)
    german = (df["Geography"] == "Germany").to_numpy()
    female = (df["Gender"] == "Female").to_numpy()
    inactive = df["IsActiveMember"].to_numpy() == 0
    products = df["NumOfProducts"].to_numpy()
    has_balance = df["Balance"].to_numpy() > 0
    score = df["CreditScore"].to_numpy(float)

    z = 3.0 * np.exp(-(((age - 54.0) / 11.0) ** 2))  # hump: churn peaks in the 50s
    z += np.select([products == 2, products == 3, products == 4], [-1.3, 2.3, 4.5], 0.0)
    z += 0.85 * german + 0.5 * female + 0.8 * inactive + 0.3 * has_balance
    z += 0.9 * (inactive & (age > 45))  # older inactive customers leave far more often
    z += 0.5 * (german & female)
    z -= 0.7 * ((products == 2) & (age < 40))  # young two-product customers are sticky
    z += 2.5 * (score < 420)  # very poor credit: almost everyone leaves
    return z


def generate(seed: int = SEED, n: int = N_ROWS) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    geography = rng.choice(["France", "Germany", "Spain"], size=n, p=[0.50, 0.25, 0.25])
    gender = np.where(rng.random(n) < 0.545, "Male", "Female")
    credit = np.clip(np.rint(rng.normal(650, 97, n)), 350, 850).astype(np.int64)
    # 18 + gamma: right-skewed, mean ~39, long tail into the 80s/90s
    age = np.clip(np.rint(18 + rng.gamma(4.0, 5.2, n)), 18, 92).astype(np.int64)
    tenure = rng.choice(11, size=n, p=[0.04] + [0.1] * 9 + [0.06])
    # Like the original, German customers (almost) never have a zero balance;
    # France/Spain rate chosen so ~36 % of all balances are exactly 0.
    zero_balance = rng.random(n) < np.where(geography == "Germany", 0.0, 0.48)
    balance = np.where(zero_balance, 0.0, np.round(np.clip(rng.normal(120_000, 30_000, n), 3_000, 260_000), 2))
    # Zero-balance customers hold two products more often (also as in the original).
    u = rng.random(n)
    p1 = np.where(zero_balance, 0.31, 0.62)
    p2 = np.where(zero_balance, 0.66, 0.35)
    products = np.select([u < p1, u < p1 + p2, u < p1 + p2 + 0.0245], [1, 2, 3], 4).astype(np.int64)
    has_card = (rng.random(n) < 0.7055).astype(np.int64)
    active = (rng.random(n) < 0.515).astype(np.int64)
    salary = np.round(rng.uniform(11.0, 200_000.0, n), 2)

    df = pd.DataFrame({
        "CreditScore": credit, "Geography": geography, "Gender": gender, "Age": age,
        "Tenure": tenure.astype(np.int64), "Balance": balance, "NumOfProducts": products,
        "HasCrCard": has_card, "IsActiveMember": active, "EstimatedSalary": salary,
    })
    z = churn_logit(df)
    # Solve for the intercept that hits the target churn rate (bisection: deterministic).
    lo, hi = -15.0, 5.0
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.mean(1 / (1 + np.exp(-(z + mid)))) < TARGET_RATE else (lo, mid)
    p = 1 / (1 + np.exp(-(z + lo)))
    df["Exited"] = (rng.random(n) < p).astype(np.int64)
    return df


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    df = generate()
    df.to_csv(out, index=False, lineterminator="\n")
    print(f"wrote {out} rows={len(df)} churn_rate={df['Exited'].mean():.4f}")


if __name__ == "__main__":
    main()
