"""Write the small ONNX fixtures in tests/fixtures/ used by the Rust server's startup tests.

Run after models/train.py (needs models/data/churn.csv). Tiny LogisticRegression pipelines keep
each file a few KB. Every fixture golden is checked against onnxruntime within 1e-5.
"""
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


def fit_logreg(X, y, names, C):
    """LogisticRegression pipeline whose column (= ONNX input) names are `names[col]`."""
    Xr = X.rename(columns=names)
    cat = [names[c] for c in t.CATEGORICAL]
    num = [names[c] for c in t.NUMERIC]
    return Pipeline([("pre", t.preprocessor(cat, num)), ("clf", LogisticRegression(C=C, max_iter=1000))]).fit(Xr, y)


def export(model, names, numeric_type, zipmap):
    types = [(names[c], StringTensorType([None, 1]) if c in t.CATEGORICAL else numeric_type([None, 1])) for c in t.FEATURES]
    onx = convert_sklearn(model, initial_types=types, target_opset=OPSET, options={id(model.steps[-1][1]): {"zipmap": False}})
    if zipmap:
        add_zipmap(onx)
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
    X_train, X_test, y_train, _ = t.load_split()
    X = X_test.iloc[:GOLDEN_ROWS]

    # snake_case inputs, float64 numerics, skl2onnx's default ZipMap output (seq(map(int64, float))).
    # Different C per fixture so the two goldens differ and a mixed-up fixture path is caught.
    model = fit_logreg(X_train, y_train, SNAKE, C=1.0)
    onx = export(model, SNAKE, DoubleTensorType, zipmap=True)
    expected = model.predict_proba(X.rename(columns=SNAKE))[:, 1]
    write_fixture("churn_zipmap_snake", onx, X, expected, ort_churn_proba(onx, X, SNAKE, np.float64))

    # CamelCase inputs, float32 numerics, plain probabilities tensor. Expected values are
    # scikit-learn's (fed the same float64 rows); the 1e-5 check above shows float32 rounding is harmless.
    same = {c: c for c in t.FEATURES}
    model = fit_logreg(X_train, y_train, same, C=0.01)
    onx = export(model, same, FloatTensorType, zipmap=False)
    expected = model.predict_proba(X)[:, 1]
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


if __name__ == "__main__":
    main()
