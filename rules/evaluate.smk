"""One evaluation policy for every model (DESIGN.md section 4)."""


rule evaluate:
    input:
        **MODEL_OUTPUT,
        val="results/{dataset}/val_pairs.parquet",
        val_dm="results/{dataset}/val_pairs_dm.parquet",
        train="results/{dataset}/train_edges.parquet",
    output:
        metrics="results/{dataset}/models/{model}/metrics.json",
        roc=report(
            "results/{dataset}/models/{model}/roc.png",
            caption="captions/roc.rst",
            category="{dataset}",
            subcategory="{model}",
            labels={"dataset": "{dataset}", "model": "{model}", "plot": "ROC"},
        ),
        pr=report(
            "results/{dataset}/models/{model}/pr_threshold.png",
            caption="captions/pr_threshold.rst",
            category="{dataset}",
            subcategory="{model}",
            labels={
                "dataset": "{dataset}",
                "model": "{model}",
                "plot": "precision/recall",
            },
        ),
    log:
        "results/{dataset}/logs/evaluate_{model}.log",
    benchmark:
        "results/{dataset}/benchmarks/evaluate_{model}.tsv"
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
