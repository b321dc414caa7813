"""Training graph as CSR arrays and random-walk sequences (docs/DESIGN.md, Data flow, stage 5)."""


rule build_graph:
    input:
        "results/{dataset}/train_edges.parquet",
    output:
        nodes="results/{dataset}/graph/nodes.parquet",
        csr="results/{dataset}/graph/csr.npz",
    log:
        "results/{dataset}/logs/build_graph.log",
    benchmark:
        "results/{dataset}/benchmarks/build_graph.tsv"
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/build_graph.py"


rule walks:
    """First-order weighted (deepwalk) or second-order node2vec walks; numba on CPU, torch on GPU."""
    input:
        nodes="results/{dataset}/graph/nodes.parquet",
        csr="results/{dataset}/graph/csr.npz",
    output:
        "results/{dataset}/walks/{walker}.npy",
    log:
        "results/{dataset}/logs/walks_{walker}.log",
    benchmark:
        "results/{dataset}/benchmarks/walks_{walker}.tsv"
    # Above every trainer's priority (rules/train.smk): the walks gate most trainers, and on a
    # small machine a long trainer started first would hold a core that a many-thread walks
    # job waits for, leaving the other core idle until it ends.
    priority: 10
    conda:
        "../envs/torch.yaml"
    threads: 8
    resources:
        gpu=1,
    params:
        walks=config["walks"],
        seed=config["seed"],
    script:
        "../scripts/walks.py"
