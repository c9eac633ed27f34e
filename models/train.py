"""Train the churn pipeline, export it to ONNX, check ONNX/scikit-learn parity and
write models/churn_pipeline.{onnx,json} and models/golden.jsonl.

Exits non-zero if parity exceeds PARITY_TOL or the model misses its quality bar.
"""
import hashlib
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import sklearn
import skl2onnx
from onnx import numpy_helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import DoubleTensorType, StringTensorType
from skl2onnx.common.tree_ensemble import sklearn_threshold
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

MODELS = Path(__file__).resolve().parent
DATA = MODELS / "data" / "churn.csv"
ONNX_FILE = "churn_pipeline.onnx"
DEFAULT_TRAINED_AT = "2026-11-21"  # fixed so rebuilt artifacts are byte-identical
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
SPLIT_SEED = 42
PARITY_TOL = 1e-5
GOLDEN_ROWS = 1000
THRESHOLD = 0.5
METADATA_GOLDEN_ROWS = 5  # golden rows in the metadata, which the server scores at load time
DRIFT_BINS = 10  # deciles: the reference distributions the server measures drift against
DRIFT_MAX_VALUES = 12  # an integer column with at most this many values gets one bin per value

# ONNX input name -> (API field, kind, validation range). Order = ONNX input order.
FEATURES = {
    "CreditScore": ("credit_score", "int", (300, 850)),
    "Geography": ("geography", "categorical", ["France", "Germany", "Spain"]),
    "Gender": ("gender", "categorical", ["Female", "Male"]),
    "Age": ("age", "int", (18, 100)),
    "Tenure": ("tenure", "int", (0, 10)),
    "Balance": ("balance", "float", (0, None)),
    "NumOfProducts": ("num_of_products", "int", (1, 4)),
    "HasCrCard": ("has_cr_card", "flag", (0, 1)),
    "IsActiveMember": ("is_active_member", "flag", (0, 1)),
    "EstimatedSalary": ("estimated_salary", "float", (0, None)),
}
CATEGORICAL = [f for f, (_, kind, _) in FEATURES.items() if kind == "categorical"]
NUMERIC = [f for f in FEATURES if f not in CATEGORICAL]
TARGET = "Exited"


def load_split():
    """Stratified 80/20 split; X keeps the ONNX (CamelCase) column names."""
    df = pd.read_csv(DATA)
    X, y = df[list(FEATURES)], df[TARGET].to_numpy()
    return train_test_split(X, y, test_size=0.2, stratify=y, random_state=SPLIT_SEED)


def preprocessor(categorical=CATEGORICAL, numeric=NUMERIC):
    return ColumnTransformer([
        ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical),
        ("scale", StandardScaler(), numeric),
    ])


def metrics(y, p):
    pred = (p >= THRESHOLD).astype(int)
    m = {
        "roc_auc": roc_auc_score(y, p), "f1": f1_score(y, pred),
        "precision": precision_score(y, pred), "recall": recall_score(y, pred),
        "accuracy": accuracy_score(y, pred),
    }
    return {k: round(float(v), 6) for k, v in m.items()}


def ort_feed(X, dtype=np.float64, names=None):
    """One [N,1] tensor per column: strings for categoricals, `dtype` for numerics.
    `names` optionally renames columns to the model's input names."""
    return {(names or {}).get(c, c): X[c].to_numpy(object if c in CATEGORICAL else dtype).reshape(-1, 1)
            for c in X.columns}


def golden_row(i, row, prob):
    """A golden row: the API request body plus the expected churn probability."""
    customer = {"customer_id": f"golden-{i}"}
    for col, (api, kind, _) in FEATURES.items():
        v = row[col]
        customer[api] = str(v) if kind == "categorical" else float(v) if kind == "float" else int(v)
    return {"customer": customer, "churn_probability": float(prob)}


def decile_edges(values):
    """Bin edges of a numeric training column: one bin per value for an integer column with few values
    (tenure, products), else the interior deciles rounded to 6 significant digits, without duplicates
    and without edges at or below the minimum (the bin under such an edge would hold no training row),
    so a column with a mass at one value (balance 0) gets fewer, wider bins."""
    values = np.asarray(values, dtype=np.float64)
    distinct = np.unique(values)
    if len(distinct) <= DRIFT_MAX_VALUES and np.all(distinct == np.round(distinct)):
        return [float(v) for v in distinct[1:]]
    q = np.quantile(values, np.arange(1, DRIFT_BINS) / DRIFT_BINS)
    return [e for e in sorted({float(f"{e:.6g}") for e in q}) if e > values.min()]


def bin_shares(values, edges=None, categories=None):
    """Share of `values` per bin: by edges (a value equal to an edge counts in the bin above it, as
    numpy.searchsorted(side="right") and the server's partition_point put it), or per category."""
    values = np.asarray(values)
    if categories is not None:
        counts = np.array([np.count_nonzero(values == c) for c in categories])
    else:
        idx = np.searchsorted(np.asarray(edges, dtype=np.float64), values.astype(np.float64), side="right")
        counts = np.bincount(idx, minlength=len(edges) + 1)
    return [float(c) / len(values) for c in counts]


def psi(actual, expected, floor=1e-4):
    """Population Stability Index of two share lists; empty bins count as `floor` (as evidently does).
    Rounded to 6 significant digits: numpy's log may round its last bit differently on another CPU,
    and the metadata must be the same file on every machine."""
    a = np.maximum(np.asarray(actual, dtype=np.float64), floor)
    e = np.maximum(np.asarray(expected, dtype=np.float64), floor)
    return float(f"{float(np.sum((a - e) * np.log(a / e))):.6g}")


def drift_reference(X_train, X_test, p_train, p_test):
    """The metadata's "drift" block: per feature (and for the predicted probability) the training
    split's bins and shares, and the held-out test split's shares and PSI as the no-drift yardstick."""
    features = []
    for name, (api, kind, rng) in FEATURES.items():
        entry = {"name": name, "api_name": api}
        if kind in ("categorical", "flag"):
            categories = rng if kind == "categorical" else [0, 1]
            entry["values"] = list(categories)
            shares = [bin_shares(X[name], categories=categories) for X in (X_train, X_test)]
        else:
            entry["edges"] = decile_edges(X_train[name])
            shares = [bin_shares(X[name], edges=entry["edges"]) for X in (X_train, X_test)]
        entry["reference"], entry["test"] = shares
        entry["test_psi"] = psi(shares[1], shares[0])
        features.append(entry)
    edges = decile_edges(p_train)
    prediction = {"edges": edges, "reference": bin_shares(p_train, edges), "test": bin_shares(p_test, edges)}
    prediction["test_psi"] = psi(prediction["test"], prediction["reference"])
    return {
        "binning": f"{DRIFT_BINS} training-split quantile bins per number (duplicates merged), one bin per "
                   "category or flag value; a value equal to an edge counts in the bin above it",
        "psi_floor": 1e-4,
        "features": features,
        "prediction": prediction,
    }


def golden_line(i, row, prob):
    """A line of golden.jsonl: golden_row as one line of JSON."""
    return json.dumps(golden_row(i, row, prob))


def use_double_trees(onx, gbm):
    """skl2onnx 1.20 writes tree thresholds as float32 (ai.onnx.ml opset 1). scikit-learn compares
    float32(x) <= float64 threshold, so a float32 threshold can send a row down the wrong branch.
    Rewrite the TreeEnsembleClassifier with ai.onnx.ml opset 3 double attributes; thresholds are
    the float64 switch points w with (x <= w) <=> (float32(x) <= t) (skl2onnx's own
    sklearn_threshold), so onnxruntime comparing double inputs reproduces scikit-learn exactly."""
    (node,) = [n for n in onx.graph.node if n.op_type == "TreeEnsembleClassifier"]
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    trees = [est[0].tree_ for est in gbm.estimators_]
    values = np.array([
        sklearn_threshold(trees[t].threshold[n], np.float64, "BRANCH_LEQ") if mode == b"BRANCH_LEQ" else 0.0
        for t, n, mode in zip(attrs["nodes_treeids"], attrs["nodes_nodeids"], attrs["nodes_modes"])
    ])
    weights = np.array([gbm.learning_rate * trees[t].value[n].item()
                        for t, n in zip(attrs["class_treeids"], attrs["class_nodeids"])])
    base = gbm._raw_predict_init(np.zeros((1, gbm.n_features_in_))).ravel().astype(np.float64)
    # Guard against a converter change: what skl2onnx wrote must be our doubles rounded to float32.
    for name, exact in (("nodes_values", values), ("class_weights", weights), ("base_values", base)):
        if not np.array_equal(np.float32(exact), np.float32(attrs[name])):
            sys.exit(f"unexpected skl2onnx tree layout: {name} does not match the scikit-learn trees")
    keep = [a for a in node.attribute if a.name not in ("nodes_values", "class_weights", "base_values", "nodes_hitrates")]
    del node.attribute[:]
    node.attribute.extend(keep)
    for name, exact in (("nodes_values", values), ("class_weights", weights), ("base_values", base)):
        node.attribute.append(onnx.helper.make_attribute(f"{name}_as_tensor", numpy_helper.from_array(exact)))
    del onx.opset_import[:]
    onx.opset_import.extend(onnx.helper.make_opsetid(d, v) for d, v in TARGET_OPSET.items())
    onx.graph.name = "churn_pipeline"  # skl2onnx uses a random uuid; fixed name keeps the file reproducible
    onnx.checker.check_model(onx, full_check=True)
    return onx


def boundary_rows(model, X):
    """Test rows with one numeric value moved onto / just around a tree threshold: the inputs on which
    float32 thresholds flip splits. (Un-scaling the threshold is inexact, hence the sweep of offsets.)"""
    pre, gbm = model.named_steps["pre"], model.named_steps["clf"]
    scaler, cols = pre.named_transformers_["scale"], pre.output_indices_["scale"]
    offsets = np.concatenate([[0.0], np.geomspace(1e-12, 1e-4, 9), -np.geomspace(1e-12, 1e-4, 9)])
    rows = []
    for tree in gbm.estimators_[:, 0]:
        for f, th in zip(tree.tree_.feature, tree.tree_.threshold):
            if cols.start <= f < cols.stop:
                j = f - cols.start
                x = th * scaler.scale_[j] + scaler.mean_[j]
                block = X.iloc[np.arange(len(rows), len(rows) + len(offsets)) % len(X)].copy()
                block[NUMERIC] = block[NUMERIC].astype(np.float64)
                block[NUMERIC[j]] = x * (1 + offsets)
                rows.append(block)
    return pd.concat(rows, ignore_index=True)


def parity(sess, model, X):
    """Max |ONNX - scikit-learn| churn probability over the rows of X."""
    p_onnx = sess.run(["probabilities"], ort_feed(X))[0]
    assert p_onnx.dtype == np.float32
    return float(np.max(np.abs(p_onnx[:, 1].astype(np.float64) - model.predict_proba(X)[:, 1])))


def main():
    X_train, X_test, y_train, y_test = load_split()

    # 200 shallow boosted trees: beats RF/LR voting on AUC here, exports exactly, ~100 KB.
    gbm = GradientBoostingClassifier(n_estimators=200, max_depth=3, learning_rate=0.05, random_state=0)
    model = Pipeline([("pre", preprocessor()), ("clf", gbm)]).fit(X_train, y_train)
    # The baseline is fitted to convergence (tol 1e-10): with lbfgs's default tol its iteration count,
    # and so its metrics in the metadata, could depend on which SIMD kernel the CPU's BLAS takes.
    logreg = Pipeline([("pre", preprocessor()), ("clf", LogisticRegression(tol=1e-10, max_iter=10000))])
    logreg.fit(X_train, y_train)

    p_test = model.predict_proba(X_test)[:, 1]
    p_train = model.predict_proba(X_train)[:, 1]
    m_model = metrics(y_test, p_test) | {"test_rows": len(X_test), "train_rows": len(X_train)}
    m_logreg = metrics(y_test, logreg.predict_proba(X_test)[:, 1]) | {"test_rows": len(X_test), "train_rows": len(X_train)}

    # Doubles for every numeric input: with the double tree ensemble this gives exact branch parity.
    initial_types = [(f, StringTensorType([None, 1]) if f in CATEGORICAL else DoubleTensorType([None, 1])) for f in FEATURES]
    onx = convert_sklearn(model, initial_types=initial_types, target_opset=TARGET_OPSET,
                          options={id(gbm): {"zipmap": False}})
    onx = use_double_trees(onx, gbm)
    onnx_bytes = onx.SerializeToString()

    sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    out_names = [o.name for o in sess.get_outputs()]
    assert [i.name for i in sess.get_inputs()] == list(FEATURES) and out_names == ["label", "probabilities"], out_names
    max_diff = parity(sess, model, X_test)  # golden rows are a subset of these
    X_edge = boundary_rows(model, X_test)
    edge_diff = parity(sess, model, X_edge)

    inputs = []
    for name, (api, kind, rng) in FEATURES.items():
        if kind == "categorical":
            inputs.append({"name": name, "api_name": api, "dtype": "string", "kind": "categorical", "categories": rng})
        else:
            spec = {"name": name, "api_name": api, "dtype": "float64", "kind": "numeric", "min": rng[0]}
            if rng[1] is not None:
                spec["max"] = rng[1]
            inputs.append(spec)
    baseline = {}
    for name, (_, kind, _) in FEATURES.items():
        col = X_train[name]
        if kind in ("categorical", "flag"):
            mode = col.mode().iloc[0]
            baseline[name] = str(mode) if kind == "categorical" else int(mode)
        else:
            med = float(col.median())
            baseline[name] = int(round(med)) if kind == "int" else round(med, 2)

    meta = {
        "name": "churn_pipeline",
        "version": "1.0.0",
        "description": "Bank customer churn classifier (synthetic Churn_Modelling-shaped data): "
                       "one-hot + standard scaling feeding gradient-boosted trees.",
        "trained_at": os.environ.get("MODEL_TRAINED_AT", DEFAULT_TRAINED_AT),
        "onnx_file": ONNX_FILE,
        "sha256": hashlib.sha256(onnx_bytes).hexdigest(),
        "opset": {o.domain: o.version for o in onx.opset_import},
        "library_versions": {
            "scikit-learn": sklearn.__version__, "skl2onnx": skl2onnx.__version__, "onnx": onnx.__version__,
            "onnxruntime": ort.__version__, "numpy": np.__version__, "pandas": pd.__version__,
            "python": platform.python_version(),
        },
        "classifier": f"GradientBoostingClassifier(n_estimators={gbm.n_estimators}, max_depth={gbm.max_depth}, "
                      f"learning_rate={gbm.learning_rate}); float64 tree ensemble (ai.onnx.ml opset 3)",
        "inputs": inputs,
        "output": {"name": "probabilities", "dtype": "float32", "positive_class_index": 1},
        "class_labels": [int(c) for c in model.classes_],
        "threshold": THRESHOLD,
        "metrics": m_model,
        "logistic_regression_metrics": m_logreg,
        "parity": {"rows_checked": len(X_test), "max_abs_diff": max_diff},
        "baseline": baseline,
        "drift": drift_reference(X_train, X_test, p_train, p_test),
        # The first golden.jsonl rows, with the same values.
        "golden": [golden_row(i, X_test.iloc[i], p_test[i]) for i in range(min(METADATA_GOLDEN_ROWS, len(X_test)))],
    }

    print(f"{'model':<22}" + "".join(f"{k:>11}" for k in ("roc_auc", "f1", "precision", "recall", "accuracy")))
    for label, m in (("gradient boosting", m_model), ("logistic regression", m_logreg)):
        print(f"{label:<22}" + "".join(f"{m[k]:>11.4f}" for k in ("roc_auc", "f1", "precision", "recall", "accuracy")))
    print(f"parity: max |onnx - sklearn| over {len(X_test)} test rows = {max_diff:.3e}, "
          f"over {len(X_edge)} split-boundary rows = {edge_diff:.3e} (tolerance {PARITY_TOL:g})")
    failures = []
    if max(max_diff, edge_diff) > PARITY_TOL:
        failures.append(f"ONNX/scikit-learn parity above {PARITY_TOL:g}")
    if m_model["roc_auc"] < 0.80 or m_model["roc_auc"] <= m_logreg["roc_auc"]:
        failures.append("ROC AUC below 0.80 or not above logistic regression")
    if failures:
        sys.exit("FAILED: " + "; ".join(failures))

    # Artifacts are written only once every check passed.
    (MODELS / ONNX_FILE).write_bytes(onnx_bytes)
    (MODELS / "churn_pipeline.json").write_text(json.dumps(meta, indent=2) + "\n")
    n_golden = min(GOLDEN_ROWS, len(X_test))
    with open(MODELS / "golden.jsonl", "w", newline="\n") as f:
        for i in range(n_golden):
            f.write(golden_line(i, X_test.iloc[i], p_test[i]) + "\n")
    print(f"wrote models/{ONNX_FILE} ({len(onnx_bytes)} bytes, sha256 {meta['sha256'][:12]}), "
          f"models/churn_pipeline.json, models/golden.jsonl ({n_golden} rows)")


if __name__ == "__main__":
    main()
