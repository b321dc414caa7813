"""One evaluation policy for every model (docs/DESIGN.md, Evaluation protocol)."""


rule curve_pairs:
    """The fixed sample of seen validation pairs every learning curve is scored on."""
    input:
        val="results/{dataset}/val_pairs.parquet",
        val_dm="results/{dataset}/val_pairs_dm.parquet",
        train="results/{dataset}/train_edges.parquet",
    output:
        "results/{dataset}/curve_pairs.parquet",
    log:
        "results/{dataset}/logs/curve_pairs.log",
    conda:
        "../envs/data.yaml"
    params:
        n=config["evaluate"]["curve_pairs"],
        seed=config["seed"],
    script:
        "../scripts/curve_pairs.py"


rule evaluate:
    input:
        **MODEL_OUTPUT,
        val="results/{dataset}/val_pairs.parquet",
        val_dm="results/{dataset}/val_pairs_dm.parquet",
        train="results/{dataset}/train_edges.parquet",
    output:
        metrics="results/{dataset}/models/{model}/rep{replicate}/metrics.json",
        roc=report(
            "results/{dataset}/models/{model}/rep{replicate}/roc.png",
            caption="captions/roc.rst",
            category="{dataset}",
            subcategory="{model}",
            labels={
                "dataset": "{dataset}",
                "model": "{model}",
                "replicate": "{replicate}",
                "plot": "ROC",
            },
        ),
        pr=report(
            "results/{dataset}/models/{model}/rep{replicate}/pr_threshold.png",
            caption="captions/pr_threshold.rst",
            category="{dataset}",
            subcategory="{model}",
            labels={
                "dataset": "{dataset}",
                "model": "{model}",
                "replicate": "{replicate}",
                "plot": "precision/recall",
            },
        ),
        curve=report(
            "results/{dataset}/models/{model}/rep{replicate}/curve.png",
            caption="captions/curve.rst",
            category="{dataset}",
            subcategory="{model}",
            labels={
                "dataset": "{dataset}",
                "model": "{model}",
                "replicate": "{replicate}",
                "plot": "learning curve",
            },
        ),
        pairs="results/{dataset}/models/{model}/rep{replicate}/scores.parquet",
        queries="results/{dataset}/models/{model}/rep{replicate}/queries.parquet",
    log:
        "results/{dataset}/logs/evaluate_{model}_rep{replicate}.log",
    benchmark:
        "results/{dataset}/benchmarks/evaluate_{model}_rep{replicate}.tsv"
    conda:
        "../envs/evaluate.yaml"
    threads: 1
    resources:
        gpu=1,
    params:
        evaluate=config["evaluate"],
        seed=config["seed"],
    script:
        "../scripts/evaluate.py"
