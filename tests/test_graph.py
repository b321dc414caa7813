import numpy as np
import pytest
from prodembed.graph import CSR_FILE, NODES_FILE, Graph, graph_from_edges, load_graph, save_graph


def hand_graph() -> Graph:
    # "x1"-"b2" appears in both orientations and must be summed; "c3"-"c3" is a self-loop.
    return graph_from_edges(
        np.array(["b2", "x1", "a0", "b2", "c3", "c3"], dtype=object),
        np.array(["x1", "b2", "b2", "c3", "x1", "c3"], dtype=object),
        np.array([1.0, 2.5, 4.0, 0.5, 3.0, 7.0]),
    )


def test_graph_from_edges_exact_csr():
    g = hand_graph()
    assert g.asins.tolist() == ["a0", "b2", "c3", "x1"]
    assert g.n_nodes == 4
    assert g.indptr.dtype == np.int64 and g.indices.dtype == np.int32
    assert g.weights.dtype == np.float32
    np.testing.assert_array_equal(g.indptr, [0, 1, 4, 7, 9])
    np.testing.assert_array_equal(g.indices, [1, 0, 2, 3, 1, 2, 3, 1, 2])
    np.testing.assert_array_equal(g.weights, [4.0, 4.0, 0.5, 3.5, 0.5, 7.0, 3.0, 3.5, 3.0])
    np.testing.assert_array_equal(g.degree(), [1, 3, 3, 2])
    np.testing.assert_allclose(g.strength(), [4.0, 8.0, 10.5, 6.5])


def test_graph_is_symmetric_on_random_edges():
    rng = np.random.default_rng(0)
    names = np.array([f"p{i:03d}" for i in range(40)], dtype=object)
    a, b = rng.integers(0, 40, 300), rng.integers(0, 40, 300)
    keep = a != b
    g = graph_from_edges(names[a[keep]], names[b[keep]], rng.uniform(0.5, 2.0, keep.sum()))
    rows = np.repeat(np.arange(g.n_nodes), g.degree())
    dense = np.zeros((g.n_nodes, g.n_nodes))
    dense[rows, g.indices] = g.weights
    np.testing.assert_array_equal(dense, dense.T)
    for v in range(g.n_nodes):
        assert np.all(np.diff(g.indices[g.indptr[v] : g.indptr[v + 1]]) > 0)


def test_invalid_edges_rejected():
    with pytest.raises(ValueError, match="positive"):
        graph_from_edges(["a"], ["b"], [0.0])
    with pytest.raises(ValueError, match="equal length"):
        graph_from_edges(["a", "b"], ["b"], [1.0])
    with pytest.raises(ValueError, match="missing"):
        graph_from_edges(["a", None], ["b", "c"], [1.0, 1.0])


def test_save_load_round_trip(tmp_path):
    g = hand_graph()
    save_graph(g, tmp_path / "graph")
    assert sorted(p.name for p in (tmp_path / "graph").iterdir()) == [CSR_FILE, NODES_FILE]
    back = load_graph(tmp_path / "graph")
    for name in ("indptr", "indices", "weights"):
        np.testing.assert_array_equal(getattr(back, name), getattr(g, name))
        assert getattr(back, name).dtype == getattr(g, name).dtype
    assert back.asins.tolist() == g.asins.tolist()


def test_load_rejects_inconsistent_csr(tmp_path):
    save_graph(hand_graph(), tmp_path)
    with open(tmp_path / CSR_FILE, "wb") as fh:
        np.savez(fh, indptr=np.array([0, 1]), indices=np.array([0]), weights=np.array([1.0]))
    with pytest.raises(ValueError, match="indptr"):
        load_graph(tmp_path)


def test_unsorted_or_duplicate_rows_rejected():
    # Binary-search neighbour tests need strictly ascending rows.
    with pytest.raises(ValueError, match="ascending"):
        Graph(indptr=[0, 2, 3, 4], indices=[2, 1, 0, 0], weights=[1, 1, 1, 1], asins=list("abc"))
    with pytest.raises(ValueError, match="ascending"):
        Graph(indptr=[0, 2, 3, 4], indices=[1, 1, 0, 0], weights=[1, 1, 1, 1], asins=list("abc"))
    Graph(indptr=[0, 1, 1, 2], indices=[2, 0], weights=[1, 1], asins=list("abc"))  # empty row ok
