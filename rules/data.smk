"""Raw dumps -> products -> edges -> train/validation split (docs/DESIGN.md, Data flow, stages 1-4)."""


rule synthesize_raw:
    """The embedded default data: a seeded dump in the real 2014 format."""
    output:
        "results/{dataset}/raw/meta.json.gz",
    log:
        "results/{dataset}/logs/synthesize_raw.log",
    benchmark:
        "results/{dataset}/benchmarks/synthesize_raw.tsv"
    wildcard_constraints:
        dataset=alternatives(datasets_of_kind("synthetic")),
    conda:
        "../envs/data.yaml"
    params:
        synthetic=lambda wc: config["datasets"][wc.dataset].get("synthetic", {}),
        seed=config["seed"],
    script:
        "../scripts/synthesize_raw.py"


rule download_raw:
    """A dump given as an http(s) URL, fetched atomically and checked against its sha256."""
    output:
        "results/{dataset}/raw/meta.json.gz",
    log:
        "results/{dataset}/logs/download_raw.log",
    benchmark:
        "results/{dataset}/benchmarks/download_raw.tsv"
    wildcard_constraints:
        dataset=alternatives(datasets_of_kind("url")),
    conda:
        "../envs/data.yaml"
    params:
        url=lambda wc: config["datasets"][wc.dataset]["source"],
        sha256=lambda wc: config["datasets"][wc.dataset].get("sha256"),
    script:
        "../scripts/download_raw.py"


rule parse_products:
    """Both release formats, gzip or plain; malformed lines counted and reported, never eval."""
    input:
        raw_dump,
    output:
        products="results/{dataset}/products.parquet",
        report="results/{dataset}/products_report.json",
    log:
        "results/{dataset}/logs/parse_products.log",
    benchmark:
        "results/{dataset}/benchmarks/parse_products.tsv"
    conda:
        "../envs/data.yaml"
    threads: 8
    params:
        parse=config["parse"],
        sha256=lambda wc: (
            config["datasets"][wc.dataset].get("sha256")
            if source_kind(wc.dataset) == "path"
            else None
        ),
    script:
        "../scripts/parse_products.py"


rule build_edges:
    """Undirected weighted product pairs from the related lists."""
    input:
        "results/{dataset}/products.parquet",
    output:
        edges="results/{dataset}/edges.parquet",
        report="results/{dataset}/edges_report.json",
    log:
        "results/{dataset}/logs/build_edges.log",
    benchmark:
        "results/{dataset}/benchmarks/build_edges.tsv"
    conda:
        "../envs/data.yaml"
    params:
        edges=config["edges"],
    script:
        "../scripts/build_edges.py"


rule split_edges:
    """Held-out positives with uniform and degree-matched negatives, seeded."""
    input:
        "results/{dataset}/edges.parquet",
    output:
        train="results/{dataset}/train_edges.parquet",
        val="results/{dataset}/val_pairs.parquet",
        val_dm="results/{dataset}/val_pairs_dm.parquet",
        report="results/{dataset}/split_report.json",
    log:
        "results/{dataset}/logs/split_edges.log",
    benchmark:
        "results/{dataset}/benchmarks/split_edges.tsv"
    conda:
        "../envs/data.yaml"
    params:
        split=config["split"],
        seed=config["seed"],
    script:
        "../scripts/split_edges.py"
