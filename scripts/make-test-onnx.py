#!/usr/bin/env python3
"""Write the test model of `naicfc extract` and its reference outputs (run once by a developer,
not by CI; the outputs are committed under codec-extract/tests/data/).

The model is a small re-ID-shaped CNN built with the `onnx` package's helper API and seeded
numpy weights (PyTorch is not needed, and its wheel is a large download): input
`images` [batch, 3, 256, 128] float32 with a dynamic batch, as `torch.onnx.export` writes a
fast-reid or torchreid model; three 3x3 stride-2 convolutions with batch norm and ReLU, a max
pool, global average pooling and a linear layer to 2048 values (`features` [batch, 2048]).

The reference features are computed by onnxruntime on a few committed images, preprocessed in
numpy the way `naicfc extract` does by default (RGB, [0, 1], ImageNet mean/std, NCHW):
  - refs/plain/<stem>.dat: the model's output (little-endian float32, naicfc's .dat);
  - refs/flip_l2/<stem>.dat: the mean of the outputs of the image and its mirror image,
    L2-normalised (`--flip --normalize`).
The images are at the model's input size, PNG and BMP (lossless), so the references pin
decoding, channel order, scaling, normalisation, layout and the network exactly; one image of
another size (`small.png`, 64 x 32) is resized with PIL's bilinear filter, which
torchvision's Resize uses, to check naicfc's resize against it (resized/small.png holds PIL's
result).

Two malformed models for the error tests: `two_inputs.onnx` (two image inputs) and
`map_output.onnx` (a feature map, not a vector, out).

Usage: python3 -m venv target/pyenv && target/pyenv/bin/pip install numpy onnx onnxruntime pillow
       target/pyenv/bin/python scripts/make-test-onnx.py
"""

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

OUT = Path(__file__).resolve().parent.parent / "codec-extract" / "tests" / "data"
H, W = 256, 128
DIM = 2048
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
rng = np.random.default_rng(20261207)


def conv_bn_relu(nodes, inits, x, cin, cout, name):
    w = (rng.standard_normal((cout, cin, 3, 3)) * np.sqrt(2.0 / (cin * 9))).astype(np.float32)
    inits.append(numpy_helper.from_array(w, f"{name}.w"))
    nodes.append(
        helper.make_node("Conv", [x, f"{name}.w"], [f"{name}.c"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    )
    for part, value in [
        ("scale", rng.uniform(0.5, 1.5, cout)),
        ("bias", rng.normal(0, 0.1, cout)),
        ("mean", rng.normal(0, 0.1, cout)),
        ("var", rng.uniform(0.5, 2.0, cout)),
    ]:
        inits.append(numpy_helper.from_array(value.astype(np.float32), f"{name}.bn.{part}"))
    nodes.append(
        helper.make_node(
            "BatchNormalization",
            [f"{name}.c"] + [f"{name}.bn.{p}" for p in ["scale", "bias", "mean", "var"]],
            [f"{name}.b"],
            epsilon=1e-5,
        )
    )
    nodes.append(helper.make_node("Relu", [f"{name}.b"], [f"{name}.r"]))
    return f"{name}.r"


def reid_model():
    nodes, inits = [], []
    x = conv_bn_relu(nodes, inits, "images", 3, 8, "conv1")
    nodes.append(helper.make_node("MaxPool", [x], ["pool1"], kernel_shape=[2, 2], strides=[2, 2]))
    x = conv_bn_relu(nodes, inits, "pool1", 8, 16, "conv2")
    x = conv_bn_relu(nodes, inits, x, 16, 32, "conv3")
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"]))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"], axis=1))
    fc = (rng.standard_normal((DIM, 32)) / np.sqrt(32)).astype(np.float32)
    inits.append(numpy_helper.from_array(fc, "fc.w"))
    inits.append(numpy_helper.from_array(rng.normal(0, 0.05, DIM).astype(np.float32), "fc.b"))
    nodes.append(helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["features"], transB=1))
    graph = helper.make_graph(
        nodes,
        "naicfc-test-reid",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, H, W])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", DIM])],
        inits,
    )
    return finish(graph)


def finish(graph):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="make-test-onnx.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def two_inputs_model():
    shape = ["batch", 3, H, W]
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["s"]), helper.make_node("GlobalAveragePool", ["s"], ["g"]),
         helper.make_node("Flatten", ["g"], ["features"], axis=1)],
        "two-inputs",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n in ["a", "b"]],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 3])],
    )
    return finish(graph)


def map_output_model():
    w = (rng.standard_normal((4, 3, 3, 3)) * 0.3).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["images", "w"], ["map"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])],
        "map-output",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, H, W])],
        [helper.make_tensor_value_info("map", TensorProto.FLOAT, ["batch", 4, H // 2, W // 2])],
        [numpy_helper.from_array(w, "w")],
    )
    return finish(graph)


def test_images():
    """Smooth colour fields with a few shapes: small as PNG, yet every channel and region differs."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    images = {}
    for i, name in enumerate(["person.png", "vehicle.bmp", "grey.png", "rgba.png"]):
        a, b, c = rng.uniform(0, 2 * np.pi, 3)
        img = np.stack(
            [
                127 + 120 * np.sin(xx / (17 + 5 * i) + a) * np.cos(yy / 41 + b),
                127 + 120 * np.cos(yy / (23 + 3 * i) + c),
                127 + 120 * np.sin((xx + yy) / 37 + a + c),
            ],
            axis=-1,
        )
        for _ in range(3):  # rectangles of flat colour: edges for the convolutions
            y0, x0 = rng.integers(0, H - 40), rng.integers(0, W - 30)
            img[y0 : y0 + rng.integers(20, 40), x0 : x0 + rng.integers(10, 30)] = rng.uniform(0, 255, 3)
        img = np.clip(np.round(img), 0, 255).astype(np.uint8)
        if name == "grey.png":
            images[name] = Image.fromarray(img).convert("L")
        elif name == "rgba.png":
            # naicfc drops alpha (as PIL's convert("RGB") does), whatever its value.
            alpha = rng.integers(0, 256, (H, W, 1), dtype=np.uint8)
            images[name] = Image.fromarray(np.concatenate([img, alpha], axis=-1), "RGBA")
        else:
            images[name] = Image.fromarray(img)
    return images


def preprocess(rgb):
    x = (np.asarray(rgb, np.float32) / 255.0 - MEAN) / STD
    return x.transpose(2, 0, 1)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    model = reid_model()
    onnx.save(model, OUT / "reid.onnx")
    onnx.save(two_inputs_model(), OUT / "two_inputs.onnx")
    onnx.save(map_output_model(), OUT / "map_output.onnx")
    session = ort.InferenceSession(str(OUT / "reid.onnx"), providers=["CPUExecutionProvider"])

    images_dir = OUT / "images"
    images_dir.mkdir(exist_ok=True)
    for name, img in test_images().items():
        img.save(images_dir / name)
    # Another size: resized to the model's by the same filter as torchvision's Resize.
    small = Image.fromarray(rng.integers(0, 256, (64, 32, 3), dtype=np.uint8))
    small.save(images_dir / "small.png")
    (OUT / "resized").mkdir(exist_ok=True)
    small.resize((W, H), Image.BILINEAR).save(OUT / "resized" / "small.png")

    for kind in ["plain", "flip_l2"]:
        (OUT / "refs" / kind).mkdir(parents=True, exist_ok=True)
    for path in sorted(images_dir.iterdir()):
        if path.name == "small.png":
            continue  # its reference is the resized image, not a feature within 1e-4
        rgb = Image.open(path).convert("RGB")
        x = preprocess(rgb)[None]
        plain = session.run(None, {"images": x})[0][0]
        flipped = session.run(None, {"images": x[..., ::-1].copy()})[0][0]
        mean = (plain + flipped) / 2
        l2 = mean / np.linalg.norm(mean)
        plain.astype("<f4").tofile(OUT / "refs" / "plain" / f"{path.stem}.dat")
        l2.astype("<f4").tofile(OUT / "refs" / "flip_l2" / f"{path.stem}.dat")
        print(f"{path.name}: |f| = {np.linalg.norm(plain):.3f}, max |f_i| = {np.abs(plain).max():.3f}")


if __name__ == "__main__":
    main()
