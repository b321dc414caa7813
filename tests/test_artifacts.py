"""The model directory: what ModelArtifacts.save writes reads back, here and in gensim."""

from __future__ import annotations

import numpy as np
import pytest
from gensim.models import KeyedVectors
from prodembed import artifacts
from prodembed.artifacts import ModelArtifacts, write_word2vec

ASINS = np.array(["B000000001", "0345391802", "B00X", "é-cafe", "B000000002"], dtype=object)


def model(dim: int = 7, similarity: str = "cosine") -> ModelArtifacts:
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(len(ASINS), dim)).astype(np.float32)
    return ModelArtifacts(emb, ASINS, similarity, bias=rng.normal(size=len(ASINS)))


@pytest.mark.parametrize(("dim", "similarity"), [(7, "cosine"), (3, "dot"), (0, "dot")])
def test_gensim_reads_vectors_bin_back_to_the_same_words_and_numbers(tmp_path, dim, similarity):
    saved = model(dim, similarity)
    saved.save(tmp_path, method="test")
    vectors = KeyedVectors.load_word2vec_format(tmp_path / "vectors.bin", binary=True)
    assert vectors.index_to_key == ASINS.tolist()
    np.testing.assert_array_equal(vectors.vectors, saved.embeddings)
    loaded = ModelArtifacts.load(tmp_path)
    np.testing.assert_array_equal(loaded.embeddings, saved.embeddings)
    np.testing.assert_array_equal(loaded.bias, saved.bias)
    assert loaded.info["method"] == "test" and loaded.similarity == similarity


def test_vectors_bin_layout_in_small_pieces(tmp_path, monkeypatch):
    monkeypatch.setattr(artifacts, "CHUNK_BYTES", 1)  # one row per write
    emb = np.array([[1.0, -2.0], [0.5, 0.0]], dtype=np.float32)
    write_word2vec(tmp_path / "v.bin", ["ab", "c"], emb)
    expected = b"2 2\nab " + emb[0].astype("<f4").tobytes() + b"\nc "
    assert (tmp_path / "v.bin").read_bytes() == expected + emb[1].astype("<f4").tobytes() + b"\n"


@pytest.mark.parametrize("bad", ["B00 X", "B00\tX", "", "\nB00"])
def test_ids_the_format_cannot_hold_are_refused(tmp_path, bad):
    with pytest.raises(ValueError, match="whitespace"):
        write_word2vec(tmp_path / "v.bin", ["B001", bad], np.zeros((2, 2), np.float32))
    assert not (tmp_path / "v.bin").exists()


@pytest.mark.parametrize(
    ("where", "value"), [("embeddings", np.nan), ("embeddings", np.inf), ("bias", -np.inf)]
)
def test_a_diverged_model_is_refused_before_anything_is_written(tmp_path, where, value):
    good = model(3, "dot")
    parts = {"embeddings": good.embeddings.copy(), "bias": good.bias.copy()}
    parts[where][2] = value
    with pytest.raises(ValueError, match=r"1 of 5 products .* NaN or infinite"):
        ModelArtifacts(parts["embeddings"], ASINS, "dot", bias=parts["bias"]).save(tmp_path / "m")
    with pytest.raises(ValueError, match="global bias nan"):
        ModelArtifacts(good.embeddings, ASINS, "dot", bias=good.bias, global_bias=float("nan"))
    assert not (tmp_path / "m").exists()
