"""One rule per model family; each writes the same model files (DESIGN.md section 3, step 6)."""


rule train_degree:
    """Popularity baseline: log(1 + training degree) per product, no learning."""
    input:
        train="results/{dataset}/train_edges.parquet",
    output:
        **MODEL_OUTPUT,
    log:
        "results/{dataset}/logs/train_{model}.log",
    benchmark:
        "results/{dataset}/benchmarks/train_{model}.tsv"
    wildcard_constraints:
        model=alternatives(models_of(["degree"])),
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/train_degree.py"


rule train_mf:
    """Matrix factorisation on the training edges, sigma(e_a . e_b) (+ biases for mf_bias)."""
    input:
        train="results/{dataset}/train_edges.parquet",
        nodes="results/{dataset}/graph/nodes.parquet",
    output:
        **MODEL_OUTPUT,
    log:
        "results/{dataset}/logs/train_{model}.log",
    benchmark:
        "results/{dataset}/benchmarks/train_{model}.tsv"
    wildcard_constraints:
        model=alternatives(models_of(["mf", "mf_bias"])),
    conda:
        "../envs/torch.yaml"
    threads: 2
    resources:
        gpu=1,
    params:
        train=config["train"],
        seed=config["seed"],
    script:
        "../scripts/train_mf.py"


rule train_gensim:
    """gensim Word2Vec on the first-order walks (skip-gram by default, CBOW selectable)."""
    input:
        walks=walks_for,
        nodes="results/{dataset}/graph/nodes.parquet",
    output:
        **MODEL_OUTPUT,
    log:
        "results/{dataset}/logs/train_{model}.log",
    benchmark:
        "results/{dataset}/benchmarks/train_{model}.tsv"
    wildcard_constraints:
        model=alternatives(models_of(["gensim_w2v"])),
    conda:
        "../envs/gensim.yaml"
    threads: 8
    params:
        train=config["train"],
        seed=config["seed"],
    script:
        "../scripts/train_gensim.py"


rule train_skipgram:
    """PyTorch skip-gram with negative sampling on deepwalk (torch_w2v) or node2vec walks."""
    input:
        walks=walks_for,
        nodes="results/{dataset}/graph/nodes.parquet",
    output:
        **MODEL_OUTPUT,
    log:
        "results/{dataset}/logs/train_{model}.log",
    benchmark:
        "results/{dataset}/benchmarks/train_{model}.tsv"
    wildcard_constraints:
        model=alternatives(models_of(["torch_w2v", "node2vec"])),
    conda:
        "../envs/torch.yaml"
    # One core: on the CPU the trainer is a single-threaded fused kernel (sgd_cpu.py), on
    # a GPU the work is on the device; more cores would only keep other jobs waiting.
    threads: 1
    resources:
        gpu=1,
    params:
        train=config["train"],
        seed=config["seed"],
    script:
        "../scripts/train_skipgram.py"


rule train_side_info:
    """EGES: skip-gram over item + brand + category + price embeddings; embeds cold products."""
    input:
        walks=walks_for,
        nodes="results/{dataset}/graph/nodes.parquet",
        products="results/{dataset}/products.parquet",
    output:
        **MODEL_OUTPUT,
    log:
        "results/{dataset}/logs/train_{model}.log",
    benchmark:
        "results/{dataset}/benchmarks/train_{model}.tsv"
    wildcard_constraints:
        model=alternatives(models_of(["torch_w2v_side_info"])),
    conda:
        "../envs/torch.yaml"
    # One core: on the CPU the trainer is a single-threaded fused kernel (sgd_cpu.py), on
    # a GPU the work is on the device; more cores would only keep other jobs waiting.
    threads: 1
    resources:
        gpu=1,
    params:
        train=config["train"],
        seed=config["seed"],
    script:
        "../scripts/train_side_info.py"


rule train_mf_sequences:
    """MF with biases trained on skip-gram (center, context) pairs from the walks."""
    input:
        walks=walks_for,
        nodes="results/{dataset}/graph/nodes.parquet",
    output:
        **MODEL_OUTPUT,
    log:
        "results/{dataset}/logs/train_{model}.log",
    benchmark:
        "results/{dataset}/benchmarks/train_{model}.tsv"
    wildcard_constraints:
        model=alternatives(models_of(["mf_sequences"])),
    conda:
        "../envs/torch.yaml"
    # One core: on the CPU the trainer is a single-threaded fused kernel (sgd_cpu.py), on
    # a GPU the work is on the device; more cores would only keep other jobs waiting.
    threads: 1
    resources:
        gpu=1,
    params:
        train=config["train"],
        seed=config["seed"],
    script:
        "../scripts/train_mf_sequences.py"


rule neighbours:
    """Top-k most similar products for every product: what a shop would serve."""
    input:
        **MODEL_OUTPUT,
    output:
        "results/{dataset}/models/{model}/neighbours.parquet",
    log:
        "results/{dataset}/logs/neighbours_{model}.log",
    benchmark:
        "results/{dataset}/benchmarks/neighbours_{model}.tsv"
    conda:
        "../envs/evaluate.yaml"
    threads: 2
    resources:
        gpu=1,
    params:
        k=config["evaluate"]["k"],
    script:
        "../scripts/neighbours.py"
