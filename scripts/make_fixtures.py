"""Write the small ONNX fixtures in tests/fixtures/ used by the Rust server's startup tests.

Run after models/train.py (needs models/data/churn.csv). Tiny logistic-regression pipelines keep
each file a few KB. Every fixture golden is checked against onnxruntime within 1e-5.

The files must be a pure function of this script on any CPU, so nothing here depends on the
floating-point path the CPU or its BLAS takes:
- the logistic-regression coefficients are numbers written below, not fitted at build time (an
  lbfgs fit's last bits, and even its iteration count, depend on which SIMD kernel OpenBLAS picks);
- the scaler and one-hot encoder are fitted, which is only sums and elementwise IEEE operations;
- the golden probabilities are computed with exactly rounded sums (math.fsum), checked against
  scikit-learn, and rounded to 12 significant digits, far below the 1e-5 the tests allow.
"""
import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType, StringTensorType
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "models"))
import train as t  # noqa: E402  (shared feature list, split and golden format)

OUT = ROOT / "tests" / "fixtures"
GOLDEN_ROWS = 20
OPSET = {"": 17, "ai.onnx.ml": 1}
SNAKE = {name: api for name, (api, _, _) in t.FEATURES.items()}
CHALLENGER = "churn_challenger"
CHALLENGER_TRAINED_AT = "2026-12-01"  # fixed so rebuilt artifacts are byte-identical


# Coefficients in the preprocessor's output order: one-hot Geography (France, Germany, Spain),
# Gender (Female, Male), then the scaled numerics in FEATURES order. They are
# LogisticRegression(C=1.0 and C=0.01, tol=1e-10) fitted on the training split, rounded to
# 4 significant digits. Two different models, so a mixed-up fixture path is caught.
COEF_C1 = ([-0.3023, 0.5987, -0.2964, 0.2924, -0.2924,
            -0.08218, 0.8373, 0.002335, 0.2513, 0.008874, -0.0008138, -0.5164, -0.02315], -1.611)
COEF_C001 = ([-0.2402, 0.4416, -0.2015, 0.2349, -0.2349,
              -0.07061, 0.7476, 0.002539, 0.2541, -0.0006133, 0.0003009, -0.4519, -0.02147], -1.563)


def logreg(X, names, coefficients):
    """A logistic-regression pipeline with fixed coefficients on a preprocessor fitted to X, whose
    column (= ONNX input) names are `names[col]`."""
    coef, intercept = coefficients
    pre = t.preprocessor([names[c] for c in t.CATEGORICAL], [names[c] for c in t.NUMERIC])
    pre.fit(X.rename(columns=names))
    clf = LogisticRegression()
    clf.classes_ = np.array([0, 1])
    clf.coef_ = np.array([coef], dtype=np.float64)
    clf.intercept_ = np.array([intercept], dtype=np.float64)
    clf.n_features_in_ = len(coef)
    assert len(pre.get_feature_names_out()) == len(coef)
    return Pipeline([("pre", pre), ("clf", clf)])


def expected_proba(model, X):
    """P(churn) for the rows of X without BLAS: each product is one IEEE multiply and math.fsum
    adds them exactly. Checked against scikit-learn's predict_proba, then rounded to 12 significant
    digits so a libm exp() that rounds its last bit differently cannot change the file."""
    pre, clf = model.named_steps["pre"], model.named_steps["clf"]
    coef, intercept = clf.coef_[0].tolist(), float(clf.intercept_[0])
    p = np.array([1.0 / (1.0 + math.exp(-math.fsum([intercept] + [c * v for c, v in zip(coef, row)])))
                  for row in pre.transform(X).tolist()])
    sklearn_diff = float(np.max(np.abs(p - model.predict_proba(X)[:, 1])))
    if sklearn_diff > 1e-12:
        sys.exit(f"fixture probabilities differ from scikit-learn's by {sklearn_diff:.3e}")
    return np.array([float(f"{v:.12g}") for v in p])


def export(model, names, numeric_type, zipmap):
    types = [(names[c], StringTensorType([None, 1]) if c in t.CATEGORICAL else numeric_type([None, 1])) for c in t.FEATURES]
    onx = convert_sklearn(model, initial_types=types, target_opset=OPSET, options={id(model.steps[-1][1]): {"zipmap": False}})
    if zipmap:
        add_zipmap(onx)
    elif numeric_type is DoubleTensorType:
        # skl2onnx 1.20 declares the probabilities output float even though it computes doubles from
        # float64 inputs (the ZipMap path replaces that declaration); declare what the graph computes.
        (proba,) = [o for o in onx.graph.output if o.name == "probabilities"]
        proba.type.tensor_type.elem_type = TensorProto.DOUBLE
    onx.graph.name = "churn_fixture"  # replace skl2onnx's random uuid: reproducible bytes
    onnx.checker.check_model(onx, full_check=True)
    return onx.SerializeToString()


def add_zipmap(onx):
    """skl2onnx 1.20's own ZipMap gets a double tensor when inputs are float64, which ZipMap rejects.
    Append Cast(float) + ZipMap by hand, with skl2onnx's default output names and types."""
    g = onx.graph
    label, proba = [o.name for o in g.output]
    g.node.extend([
        helper.make_node("Identity", [label], ["output_label"]),
        helper.make_node("Cast", [proba], ["probabilities_f32"], to=TensorProto.FLOAT),
        helper.make_node("ZipMap", ["probabilities_f32"], ["output_probability"], domain="ai.onnx.ml",
                         classlabels_int64s=[0, 1]),
    ])
    del g.output[:]
    g.output.extend([
        helper.make_tensor_value_info("output_label", TensorProto.INT64, [None]),
        helper.make_value_info("output_probability", helper.make_sequence_type_proto(
            helper.make_map_type_proto(TensorProto.INT64, helper.make_tensor_type_proto(TensorProto.FLOAT, [])))),
    ])


def ort_churn_proba(onnx_bytes, X, names, dtype):
    sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    out = sess.run(None, t.ort_feed(X, dtype, names))[-1]
    if isinstance(out, list):  # ZipMap: a sequence of {class: probability} maps
        return np.array([row[1] for row in out], dtype=np.float64)
    return out[:, 1].astype(np.float64)


def write_fixture(stem, onnx_bytes, X, expected, p_onnx):
    """Writes {stem}.onnx and {stem}.golden.jsonl after checking onnxruntime against `expected`."""
    diff = float(np.max(np.abs(p_onnx - expected)))
    if diff > t.PARITY_TOL:
        sys.exit(f"{stem}: onnxruntime differs from expected by {diff:.3e}")
    (OUT / f"{stem}.onnx").write_bytes(onnx_bytes)
    with open(OUT / f"{stem}.golden.jsonl", "w", newline="\n") as f:
        for i in range(len(X)):
            f.write(t.golden_line(i, X.iloc[i], expected[i]) + "\n")
    print(f"tests/fixtures/{stem}.onnx ({len(onnx_bytes)} bytes), {len(X)} golden rows, max diff {diff:.3e}")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    X_train, X_test, _, _ = t.load_split()
    X = X_test.iloc[:GOLDEN_ROWS]

    # snake_case inputs, float64 numerics, skl2onnx's default ZipMap output (seq(map(int64, float))).
    model = logreg(X_train, SNAKE, COEF_C1)
    onx = export(model, SNAKE, DoubleTensorType, zipmap=True)
    expected = expected_proba(model, X.rename(columns=SNAKE))
    write_fixture("churn_zipmap_snake", onx, X, expected, ort_churn_proba(onx, X, SNAKE, np.float64))

    # CamelCase inputs, float32 numerics, plain probabilities tensor. Expected values are computed
    # from the same float64 rows; the 1e-5 check above shows float32 rounding is harmless.
    same = {c: c for c in t.FEATURES}
    model = logreg(X_train, same, COEF_C001)
    onx = export(model, same, FloatTensorType, zipmap=False)
    expected = expected_proba(model, X)
    write_fixture("churn_float32", onx, X, expected, ort_churn_proba(onx, X, same, np.float32))

    # A valid model whose inputs are not the churn features.
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [None, 1]) for n in "abc"]
    output = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])
    graph = helper.make_graph([helper.make_node("Concat", list("abc"), ["y"], axis=1)], "wrong_inputs", inputs, [output])
    wrong = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8, producer_name="make_fixtures")
    onnx.checker.check_model(wrong, full_check=True)
    (OUT / "wrong_inputs.onnx").write_bytes(wrong.SerializeToString())

    (OUT / "corrupt.onnx").write_bytes(b"not an onnx model\n")
    print("tests/fixtures/wrong_inputs.onnx, tests/fixtures/corrupt.onnx")

    # Challenger for hot-swap tests: a second, visibly different model the server can be switched
    # to, with its own metadata. CamelCase inputs, float64 numerics, plain probabilities tensor.
    model = logreg(X_train, same, COEF_C1)
    onx = export(model, same, DoubleTensorType, zipmap=False)
    expected = expected_proba(model, X)
    write_fixture(CHALLENGER, onx, X, expected, ort_churn_proba(onx, X, same, np.float64))
    write_challenger_metadata(onx, X, expected)


def write_challenger_metadata(onnx_bytes, X, expected):
    """{CHALLENGER}.json: the main model's metadata layout where the server reads it (inputs and
    baseline copied from models/churn_pipeline.json), golden rows from the challenger."""
    main_meta = json.loads((ROOT / "models" / "churn_pipeline.json").read_text())
    inputs = [dict(spec, dtype="float64") if spec["kind"] == "numeric" else spec for spec in main_meta["inputs"]]
    meta = {
        "name": "churn_pipeline",
        "version": "2.0.0",
        "description": "Challenger fixture for hot-swap tests: logistic regression with fixed coefficients",
        "trained_at": CHALLENGER_TRAINED_AT,
        "onnx_file": f"{CHALLENGER}.onnx",
        "sha256": hashlib.sha256(onnx_bytes).hexdigest(),
        "inputs": inputs,
        "class_labels": [0, 1],
        "threshold": t.THRESHOLD,
        "baseline": main_meta["baseline"],
        "golden": [t.golden_row(i, X.iloc[i], expected[i]) for i in range(min(t.METADATA_GOLDEN_ROWS, len(X)))],
    }
    (OUT / f"{CHALLENGER}.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"tests/fixtures/{CHALLENGER}.json (version {meta['version']}, sha256 {meta['sha256'][:12]})")


if __name__ == "__main__":
    main()
