"""Training rules, one per model family of the registry (scripts/prodembed/registry.py), and the
neighbour lists; every trainer writes the same model files (docs/DESIGN.md, Data flow, stages
6-7)."""

for family, spec in registry.FAMILIES.items():

    rule:
        name:
            f"train_{family}"
        input:
            **train_inputs(family),
        output:
            **MODEL_OUTPUT,
        log:
            "results/{dataset}/logs/train_{model}_rep{replicate}.log",
        benchmark:
            "results/{dataset}/benchmarks/train_{model}_rep{replicate}.tsv"
        wildcard_constraints:
            model=alternatives(models_of(family)),
        # Longest first: a family's thread request says how long it runs, and starting the
        # long trainers before the short ones keeps a few cores from idling at the end.
        priority: spec.threads
        conda:
            f"../envs/{spec.env}.yaml"
        threads: share_of_cores(spec.threads)
        resources:
            gpu=int(spec.gpu),
        params:
            train=config["train"],
            seed=config["seed"],
            family=family,
        script:
            # Through params: a script path is formatted when the job runs, after the loop.
            "../scripts/train_{params.family}.py"


rule neighbours:
    """Top-k similar products for every product, from a FAISS index kept for queries."""
    input:
        **MODEL_OUTPUT,
    output:
        neighbours="results/{dataset}/models/{model}/rep{replicate}/neighbours.parquet",
        index="results/{dataset}/models/{model}/rep{replicate}/index.faiss",
        info="results/{dataset}/models/{model}/rep{replicate}/neighbours.json",
    log:
        "results/{dataset}/logs/neighbours_{model}_rep{replicate}.log",
    benchmark:
        "results/{dataset}/benchmarks/neighbours_{model}_rep{replicate}.tsv"
    conda:
        "../envs/evaluate.yaml"
    threads: share_of_cores(8)
    resources:
        gpu=1,
    params:
        k=config["evaluate"]["k"],
        index=config.get("neighbours", {}),
        seed=config["seed"],
    script:
        "../scripts/neighbours.py"
