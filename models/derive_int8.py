"""Derives the int8 NER graph (model_int8.onnx) from the pinned 4-bit Rampart graph (model_q4.onnx).

Why: ONNX Runtime runs the wheel's 4-bit `MatMulNBits` weights on CPU about half as fast as
dynamically quantised int8 `MatMul`s (which use the VNNI dot-product instructions), with the same
labels. The wheel ships only the 4-bit graph, so `make models` derives the int8 one from it:

1. every `com.microsoft.MatMulNBits` node is replaced by a plain fp32 `MatMul` whose weight is its
   block-dequantised matrix, `(code - zero_point) * scale` (the same numbers the 4-bit kernel uses);
2. the fp32 graph is checked against the 4-bit one on fixed inputs (the logits must match);
3. ONNX Runtime's BERT optimizer fuses each layer's attention (one `Attention` node for the query,
   key and value projections and the softmax), its bias and GELU, and its residual add and layer
   norm: fused, the attention quantises to one `QAttention` below, which runs a 128-token window
   about 10% faster than the separate int8 projections;
4. `onnxruntime.quantization.quantize_dynamic` (QInt8 weights, per output channel) quantises it.

The output is deterministic for pinned tool versions (models/derive-requirements.txt); its sha256
is recorded in models/manifest, which models/derive.sh checks.

Usage: derive_int8.py INPUT.onnx OUTPUT.onnx
"""

import hashlib
import logging
import os
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime
from onnx import helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.transformers import optimizer

MATMUL_NBITS = ("com.microsoft", "MatMulNBits")
# MatMulNBits attributes this script understands. `accuracy_level` only picks the kernel's
# internal precision, so it has no bearing on the dequantised weights.
KNOWN_ATTRIBUTES = {"K", "N", "bits", "block_size", "accuracy_level"}
SUPPORTED_BITS = (2, 4, 8)
# Inputs: A, B, scales, zero_points (optional), g_idx (optional, deprecated), bias (optional).
ZERO_POINTS, G_IDX, BIAS = 3, 4, 5
# The fp32 graph must reproduce the 4-bit graph's logits this closely (measured: 2e-5).
MAX_LOGIT_DIFF = 1e-3


class DeriveError(Exception):
    pass


def attribute(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    if default is None:
        raise DeriveError(f"{node.name}: MatMulNBits without the {name} attribute")
    return default


def unpack_codes(packed, bits):
    """uint8 bytes -> the `8 // bits` codes each holds, lowest bits first (the operator's order)."""
    per_byte = 8 // bits
    shifts = np.arange(per_byte, dtype=np.uint8) * bits
    codes = (packed[..., None] >> shifts) & ((1 << bits) - 1)
    return codes.reshape(*packed.shape[:-1], packed.shape[-1] * per_byte)


def dequantised_weight(node, initializers):
    """The [K, N] fp32 weight a MatMulNBits node multiplies by."""
    unknown = {a.name for a in node.attribute} - KNOWN_ATTRIBUTES
    if unknown:
        raise DeriveError(f"{node.name}: unexpected MatMulNBits attributes {sorted(unknown)}")
    k, n = attribute(node, "K"), attribute(node, "N")
    bits, block = attribute(node, "bits"), attribute(node, "block_size")
    if bits not in SUPPORTED_BITS:
        raise DeriveError(f"{node.name}: bits={bits}, only {SUPPORTED_BITS} are supported")
    if block < 16 or block & (block - 1):
        raise DeriveError(f"{node.name}: block_size={block} is not a power of two >= 16")
    for index, what in ((G_IDX, "g_idx"), (BIAS, "bias")):
        if len(node.input) > index and node.input[index]:
            raise DeriveError(f"{node.name}: has a {what} input, which this script does not handle")

    def constant(index, what):
        name = node.input[index]
        if name not in initializers:
            raise DeriveError(f"{node.name}: {what} ({name!r}) is not a constant initializer")
        return numpy_helper.to_array(initializers[name])

    blocks = -(-k // block)
    blob = block * bits // 8
    codes = constant(1, "B")
    if codes.dtype != np.uint8 or codes.shape != (n, blocks, blob):
        raise DeriveError(
            f"{node.name}: B is {codes.dtype}{list(codes.shape)}, expected uint8{[n, blocks, blob]}"
        )
    scales = constant(2, "scales")
    if scales.dtype != np.float32 or scales.size != n * blocks:
        raise DeriveError(
            f"{node.name}: scales are {scales.dtype}{list(scales.shape)}, "
            f"expected {n * blocks} float32 values"
        )
    scales = scales.reshape(n, blocks)

    if len(node.input) > ZERO_POINTS and node.input[ZERO_POINTS]:
        packed = constant(ZERO_POINTS, "zero_points")
        row_bytes = -(-blocks * bits // 8)
        if packed.dtype != np.uint8 or packed.size != n * row_bytes:
            raise DeriveError(
                f"{node.name}: zero_points are {packed.dtype}{list(packed.shape)}, expected "
                f"{n * row_bytes} packed uint8 values (other encodings are not handled)"
            )
        zero_points = unpack_codes(packed.reshape(n, row_bytes), bits)[:, :blocks]
    else:
        # The operator's default: the middle of the code range (8 for 4 bits).
        zero_points = np.full((n, blocks), 1 << (bits - 1), dtype=np.uint8)

    values = unpack_codes(codes, bits).astype(np.float32)  # [N, blocks, block]
    values -= zero_points[..., None].astype(np.float32)
    values *= scales[..., None]
    # The last block is padded when K is not a multiple of block_size.
    return np.ascontiguousarray(values.reshape(n, blocks * block)[:, :k].T)


def dequantise(model):
    """A copy of `model` with every MatMulNBits replaced by MatMul on its fp32 weight."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    initializers = {i.name: i for i in graph.initializer}
    replaced, dropped = 0, set()
    nodes = []
    for node in graph.node:
        if (node.domain, node.op_type) != MATMUL_NBITS:
            if node.domain not in ("", "ai.onnx"):
                raise DeriveError(f"{node.name}: unexpected operator {node.domain}.{node.op_type}")
            nodes.append(node)
            continue
        weight = dequantised_weight(node, initializers)
        weight_name = f"{node.input[1]}_dequantised"
        graph.initializer.append(numpy_helper.from_array(weight, weight_name))
        nodes.append(
            helper.make_node(
                "MatMul", [node.input[0], weight_name], list(node.output), name=f"{node.name}_fp32"
            )
        )
        dropped.update(i for i in node.input[1:] if i)
        replaced += 1
    if replaced == 0:
        raise DeriveError("the model has no MatMulNBits node: is this the pinned 4-bit graph?")
    still_used = {i for node in nodes for i in node.input}
    kept = [i for i in graph.initializer if i.name not in dropped or i.name in still_used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    del graph.node[:]
    graph.node.extend(nodes)
    if not any(node.domain == "com.microsoft" for node in nodes):
        kept_opsets = [o for o in model.opset_import if o.domain != "com.microsoft"]
        del model.opset_import[:]
        model.opset_import.extend(kept_opsets)
    onnx.checker.check_model(model)
    print(f"derive_int8: {replaced} MatMulNBits nodes dequantised to fp32 MatMul", file=sys.stderr)
    return model


def fixed_inputs(session):
    """Two deterministic batches of plausible token ids for comparing two graphs."""
    rng = np.random.default_rng(12)
    names = {i.name for i in session.get_inputs()}
    batches = []
    for seq in (16, 130):
        ids = rng.integers(1000, 5000, size=(1, seq), dtype=np.int64)
        ids[0, 0], ids[0, -1] = 101, 102  # [CLS] ... [SEP] in the BERT vocabulary
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        if "token_type_ids" in names:
            feed["token_type_ids"] = np.zeros_like(ids)
        batches.append(feed)
    return batches


def check_same_logits(original_path, dequantised_path):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    sessions = [
        onnxruntime.InferenceSession(p, options, providers=["CPUExecutionProvider"])
        for p in (original_path, dequantised_path)
    ]
    for feed in fixed_inputs(sessions[0]):
        original, dequantised = (s.run(None, feed)[0] for s in sessions)
        diff = float(np.max(np.abs(original - dequantised)))
        if diff > MAX_LOGIT_DIFF:
            raise DeriveError(
                f"the dequantised graph's logits differ from the 4-bit graph's by {diff:.2e} "
                f"(> {MAX_LOGIT_DIFF:.0e}): the dequantisation is wrong"
            )


def fuse_bert_layers(fp32_path, fused_path):
    """The fp32 graph with each layer's attention, bias + GELU and residual + layer norm fused.

    Head count and hidden size are read from the graph (0 = detect). Only the graph-level fusions
    run (opt_level 0): the fused file stays portable across CPUs, and ONNX Runtime applies its own
    optimisations when sluice loads it.
    """
    model = optimizer.optimize_model(
        fp32_path, model_type="bert", num_heads=0, hidden_size=0, opt_level=0
    )
    fused = model.get_fused_operator_statistics()
    if fused.get("Attention", 0) == 0:
        raise DeriveError(
            f"the BERT optimizer fused no attention layer ({fused}): the graph is not the expected BERT"
        )
    model.save_model_to_file(fused_path)


def derive(input_path, output_path):
    source = onnx.load(input_path)
    out_dir = os.path.dirname(os.path.abspath(output_path))
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".derive-int8-") as tmp:
        fp32_path = os.path.join(tmp, "model_fp32.onnx")
        onnx.save(dequantise(source), fp32_path)
        check_same_logits(input_path, fp32_path)
        fused_path = os.path.join(tmp, "model_fused.onnx")
        fuse_bert_layers(fp32_path, fused_path)
        check_same_logits(input_path, fused_path)
        int8_path = os.path.join(tmp, "model_int8.onnx")
        quantize_dynamic(
            fused_path,
            int8_path,
            weight_type=QuantType.QInt8,
            per_channel=True,
        )
        model = onnx.load(int8_path)
        with open(input_path, "rb") as f:
            source_sha = hashlib.sha256(f.read()).hexdigest()
        helper.set_model_props(
            model,
            {
                "sluice.derived_from": f"{os.path.basename(input_path)} sha256 {source_sha}",
                "sluice.derived_by": "models/derive_int8.py (MatMulNBits -> MatMul, "
                "BERT fusions, quantize_dynamic QInt8 per channel)",
            },
        )
        staged = output_path + ".tmp"
        onnx.save(model, staged)
        os.replace(staged, output_path)


def main(argv):
    # quantize_dynamic warns on the root logger that the graph was not pre-processed (shape
    # inference, which only static quantisation needs) and that it looks quantised already (the
    # embeddings' DequantizeLinear nodes, which it leaves alone). Neither applies here.
    logging.getLogger().setLevel(logging.ERROR)
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    try:
        derive(argv[1], argv[2])
    except DeriveError as e:
        print(f"derive_int8: {argv[1]}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
