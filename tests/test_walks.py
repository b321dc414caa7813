import numba
import numpy as np
import pytest
import torch
from devices import on_devices
from prodembed import walk_kernels as kernels
from prodembed.graph import Graph, graph_from_edges, graph_from_ids
from prodembed.walks import (
    first_order_walks,
    first_order_walks_torch,
    generate_walks,
    node2vec_walks,
    node2vec_walks_torch,
)

# Second-order test graph: t=0, v=1. From (0, 1): 0 is the return, 2 is a neighbour of t
# (distance 1), 3 and 4 are at distance 2 from t.
N2V_EDGES = ([0, 1, 0, 1, 1, 3], [1, 2, 2, 3, 4, 4], [1.0, 2.0, 1.0, 3.0, 1.5, 0.5])


@pytest.fixture(autouse=True)
def torch_one_thread():
    """Run torch single-threaded: tiny tensors gain nothing from its pool, which on a busy
    2-CPU machine makes every op wait for a descheduled thread (30x slower). Set per test
    because numba's OpenMP layer resets torch's thread count when it launches."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def names(n):
    return np.array([f"n{i:02d}" for i in range(n)], dtype=object)


@pytest.fixture(scope="module")
def star_triangle() -> Graph:
    """A weighted star (centre 0, leaves 1-4) and a separate weighted triangle (5, 6, 7)."""
    a = [0, 0, 0, 0, 5, 5, 6]
    b = [1, 2, 3, 4, 6, 7, 7]
    w = [1.0, 2.0, 3.0, 4.0, 1.0, 3.0, 0.5]
    return graph_from_ids(a, b, w, names(8))


@pytest.fixture(scope="module")
def n2v_graph() -> Graph:
    return graph_from_ids(*N2V_EDGES, names(5))


@pytest.fixture(scope="module")
def random_graph() -> Graph:
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 60, 400), rng.integers(0, 60, 400)
    keep = a != b
    return graph_from_ids(a[keep], b[keep], rng.uniform(0.1, 3.0, keep.sum()), names(60))


def numba_n2v(graph, walks_per_node, length, p, q, seed):
    return node2vec_walks(graph, walks_per_node, length, p, q, seed)


def torch_n2v(device):
    def walk(graph, walks_per_node, length, p, q, seed):
        return node2vec_walks_torch(graph, walks_per_node, length, p, q, seed, device=device)

    return walk


def torch_walkers(device):
    return {
        f"deepwalk-torch-{device}": lambda g, r, n, s: first_order_walks_torch(g, r, n, s, device),
        f"node2vec-torch-{device}": lambda g, r, n, s: torch_n2v(device)(g, r, n, 0.5, 2.0, s),
    }


WALKERS = {
    "deepwalk": lambda g, r, n, s: first_order_walks(g, r, n, s),
    "node2vec": lambda g, r, n, s: numba_n2v(g, r, n, 0.5, 2.0, s),
    **torch_walkers("cpu"),
    **torch_walkers("cuda"),
}
N2V_IMPLS = {"numba": numba_n2v, "torch-cpu": torch_n2v("cpu"), "torch-cuda": torch_n2v("cuda")}
ALL_WALKERS, ALL_N2V = on_devices(WALKERS), on_devices(N2V_IMPLS)


def edge_set(graph: Graph) -> set[tuple[int, int]]:
    rows = np.repeat(np.arange(graph.n_nodes), graph.degree())
    return set(zip(rows.tolist(), graph.indices.tolist(), strict=True))


def assert_frequencies(observed: np.ndarray, probs: np.ndarray) -> None:
    """Each count within 4 binomial standard deviations of its expectation."""
    total = observed.sum()
    expected = total * probs
    sigma = np.sqrt(total * probs * (1 - probs))
    assert np.all(np.abs(observed - expected) <= 4 * sigma + 1e-9), (observed, expected)


def next_after(walks: np.ndarray, t: int, v: int) -> np.ndarray:
    """Every node that follows the consecutive pair (t, v) anywhere in the walks."""
    hit = (walks[:, :-2] == t) & (walks[:, 1:-1] == v)
    return walks[:, 2:][hit]


def test_alias_tables_encode_the_weights_exactly(random_graph):
    # Row 1 gets a zero-weight entry: it must never be drawn.
    g = random_graph
    weights = g.weights.copy()
    weights[g.indptr[1]] = 0.0
    table, strength = kernels.alias_tables(g.indptr, g.indices, weights)
    prob = table.view(np.float32)[:, 0].astype(np.float64)
    for v in range(g.n_nodes):
        lo, hi = g.indptr[v], g.indptr[v + 1]
        slots = np.arange(hi - lo)
        np.testing.assert_array_equal(table[lo:hi, 1], g.indices[lo:hi])
        np.testing.assert_array_equal(table[lo:hi, 2], g.indices[lo + table[lo:hi, 3]])
        implied = prob[lo:hi] + np.bincount(table[lo:hi, 3], 1 - prob[lo:hi], minlength=len(slots))
        np.testing.assert_allclose(implied / len(slots), weights[lo:hi] / strength[v], atol=1e-6)
        assert strength[v] == pytest.approx(weights[lo:hi].sum(dtype=np.float64))


@pytest.mark.parametrize("walker", ALL_WALKERS)
def test_shape_starts_and_every_step_follows_an_edge(walker, random_graph):
    walks = WALKERS[walker](random_graph, 3, 12, 7)
    n = random_graph.n_nodes
    assert walks.dtype == np.int32 and walks.shape == (3 * n, 12)
    np.testing.assert_array_equal(walks[:, 0], np.tile(np.arange(n), 3))
    steps = set(zip(walks[:, :-1].ravel().tolist(), walks[:, 1:].ravel().tolist(), strict=True))
    assert steps <= edge_set(random_graph)


@pytest.mark.parametrize("walker", ALL_WALKERS)
def test_first_step_frequencies_match_weights(walker, star_triangle):
    walks = WALKERS[walker](star_triangle, 4000, 2, 3)
    for v in (0, 5, 6, 7):
        row = slice(star_triangle.indptr[v], star_triangle.indptr[v + 1])
        neighbours, w = star_triangle.indices[row], star_triangle.weights[row]
        first = walks[walks[:, 0] == v, 1]
        observed = np.array([(first == x).sum() for x in neighbours])
        assert observed.sum() == len(first)
        assert_frequencies(observed, w / w.sum())


def return_and_outward_rates(walks: np.ndarray, graph: Graph) -> tuple[float, float]:
    t, x = walks[:, :-2].ravel(), walks[:, 2:].ravel()
    returned = t == x
    edges = edge_set(graph)
    neighbour = np.array([pair in edges for pair in zip(t.tolist(), x.tolist(), strict=True)])
    return returned.mean(), (~returned & ~neighbour).mean()


@pytest.mark.parametrize("impl", ALL_N2V)
def test_p_controls_returns_and_q_controls_outward_moves(impl, random_graph):
    walk = N2V_IMPLS[impl]
    ret_low_p, _ = return_and_outward_rates(walk(random_graph, 2, 20, 0.1, 1.0, 0), random_graph)
    ret_high_p, _ = return_and_outward_rates(walk(random_graph, 2, 20, 10.0, 1.0, 0), random_graph)
    assert ret_low_p > 2 * ret_high_p
    _, out_low_q = return_and_outward_rates(walk(random_graph, 2, 20, 1.0, 0.1, 0), random_graph)
    _, out_high_q = return_and_outward_rates(walk(random_graph, 2, 20, 1.0, 10.0, 0), random_graph)
    assert out_low_q > 1.5 * out_high_q


@pytest.mark.parametrize("impl", ALL_N2V)
@pytest.mark.parametrize("p,q", [(0.5, 2.0), (2.0, 0.25), (0.25, 0.5)])
def test_second_order_probabilities_match_analytic(impl, p, q, n2v_graph):
    walks = N2V_IMPLS[impl](n2v_graph, 2000, 12, p, q, 11)
    # Neighbours of v=1 are 0 (=t, w 1), 2 (t's neighbour, w 2), 3 (w 3) and 4 (w 1.5).
    unnormalised = np.array([1.0 / p, 2.0, 3.0 / q, 1.5 / q])
    following = next_after(walks, 0, 1)
    assert len(following) > 2000
    observed = np.array([(following == x).sum() for x in (0, 2, 3, 4)])
    assert observed.sum() == len(following)
    assert_frequencies(observed, unnormalised / unnormalised.sum())


@pytest.mark.parametrize("impl", ALL_N2V)
def test_node2vec_with_p_q_one_is_first_order(impl, n2v_graph):
    walks = N2V_IMPLS[impl](n2v_graph, 2000, 12, 1.0, 1.0, 4)
    following = next_after(walks, 0, 1)
    observed = np.array([(following == x).sum() for x in (0, 2, 3, 4)])
    assert_frequencies(observed, np.array([1.0, 2.0, 3.0, 1.5]) / 7.5)


def test_node2vec_p_q_one_is_exactly_first_order(n2v_graph):
    np.testing.assert_array_equal(
        node2vec_walks(n2v_graph, 3, 9, 1.0, 1.0, 5), first_order_walks(n2v_graph, 3, 9, 5)
    )


def test_node2vec_first_step_is_first_order(random_graph):
    n2v = node2vec_walks(random_graph, 2, 6, 0.3, 4.0, 9)
    np.testing.assert_array_equal(n2v[:, :2], first_order_walks(random_graph, 2, 6, 9)[:, :2])


def test_edge_set_answers_exactly_for_every_pair(random_graph):
    keys = kernels.edge_set(random_graph.indptr, random_graph.indices)
    n = random_graph.n_nodes
    edges = edge_set(random_graph)
    assert (keys >= 0).sum() == len(edges) // 2  # each undirected edge once
    assert 2 * (keys >= 0).sum() <= len(keys)  # at most half full
    for t in range(n):
        for x in range(n):
            if t != x:
                assert kernels.has_edge(keys, n, t, x) == ((t, x) in edges), (t, x)


def uniform(state):
    """``kernels.uniform`` called from Python: keep the state a uint64 (a Python int enters
    numba as int64, and int64 + uint64 is float64 there)."""
    state, u = kernels.uniform(np.uint64(state))
    return np.uint64(state), u


def reference_walk(graph, table, strength, k, length, seed, p, q):
    """Walk ``k`` one step and one proposal at a time, in the stream order the kernels promise.

    The kernels interleave walks in passes with prefetching; this plain loop over the same
    per-walk stream (same helpers) must give the same bytes, so the interleaving is pure speed.
    With p = q = 1 node2vec walks are the first-order walks.
    """
    second_order = (p, q) != (1.0, 1.0)
    prob = table.view(np.float32)
    inv_p, inv_q = 1.0 / p, 1.0 / q
    m = max(1.0, inv_q)
    state = np.uint64(kernels.walk_state(np.uint64(seed), k))
    t = k % graph.n_nodes
    walk = [t]
    state, u = uniform(state)
    v, e = kernels.draw(graph.indptr, table, prob, t, u)
    walk.append(v)
    walked = graph.weights[e]
    neighbours = edge_set(graph)
    while len(walk) < length:
        if not second_order:
            state, u = uniform(state)
            v, _ = kernels.draw(graph.indptr, table, prob, walk[-1], u)
            walk.append(v)
            continue
        t, v = walk[-2], walk[-1]
        extra = walked * max(0.0, inv_p - m)
        mass = m * strength[v]
        while True:
            state, u = uniform(state)
            y = u * (mass + extra)
            if y < extra:
                x = t
                break
            x, e = kernels.draw(graph.indptr, table, prob, v, (y - extra) / mass)
            state, r = uniform(state)
            if x == t:
                alpha = inv_p
            elif (t, x) in neighbours:
                alpha = 1.0
            else:
                alpha = inv_q
            if r < alpha / m:
                break
        if x != t:
            walked = graph.weights[e]
        walk.append(x)
    return walk


@pytest.mark.parametrize("p, q", [(1.0, 1.0), (0.5, 2.0), (2.0, 0.5), (0.25, 1.0)])
def test_interleaved_kernels_equal_a_one_walk_loop(p, q, random_graph):
    walks = node2vec_walks(random_graph, 2, 9, p, q, seed=17)
    table, strength = kernels.alias_tables(
        random_graph.indptr, random_graph.indices, random_graph.weights
    )
    for k in range(0, len(walks), 7):
        expected = reference_walk(random_graph, table, strength, k, 9, 17, p, q)
        assert walks[k].tolist() == expected, k


@pytest.mark.parametrize("walker", ALL_WALKERS)
def test_same_seed_same_bytes(walker, random_graph):
    run = WALKERS[walker]
    first = run(random_graph, 2, 15, 123)
    assert first.tobytes() == run(random_graph, 2, 15, 123).tobytes()
    assert first.tobytes() != run(random_graph, 2, 15, 124).tobytes()


@pytest.mark.parametrize("walker", ["deepwalk", "node2vec"])
def test_thread_count_and_chunking_do_not_change_walks(walker, random_graph, monkeypatch):
    import prodembed.walks as walks_module

    reference = WALKERS[walker](random_graph, 4, 20, 42).tobytes()
    monkeypatch.setattr(walks_module, "CHUNK_WALKS", 50)  # several kernel calls, ragged groups
    previous = numba.get_num_threads()
    try:
        for threads in (1, numba.config.NUMBA_NUM_THREADS):
            numba.set_num_threads(threads)
            assert WALKERS[walker](random_graph, 4, 20, 42).tobytes() == reference
    finally:
        numba.set_num_threads(previous)
    for threads in (1, 2):  # the ``threads`` argument is only a speed knob too
        again = generate_walks(random_graph, walker, 4, 20, p=0.5, q=2.0, seed=42, threads=threads)
        assert again.tobytes() == reference


def test_generate_walks_dispatch(random_graph):
    np.testing.assert_array_equal(
        generate_walks(random_graph, "deepwalk", 2, 5, seed=3),
        first_order_walks(random_graph, 2, 5, 3),
    )
    np.testing.assert_array_equal(
        generate_walks(random_graph, "node2vec", 2, 5, p=0.5, q=2.0, seed=3),
        node2vec_walks(random_graph, 2, 5, 0.5, 2.0, 3),
    )
    with pytest.raises(ValueError, match="unknown walker"):
        generate_walks(random_graph, "line", 2, 5)
    with pytest.raises(ValueError, match="p and q"):
        generate_walks(random_graph, "node2vec", 2, 5, p=0.0)


@pytest.mark.parametrize("walker", ALL_WALKERS)
def test_isolated_node_is_an_error(walker):
    g = graph_from_edges(["a", "a"], ["b", "c"], [1.0, 1.0])
    isolated = Graph(
        indptr=np.append(g.indptr, g.indptr[-1]),
        indices=g.indices,
        weights=g.weights,
        asins=np.append(g.asins, "lonely"),
    )
    with pytest.raises(ValueError, match="isolated node.*lonely"):
        WALKERS[walker](isolated, 1, 5, 0)
