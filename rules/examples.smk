"""What the models recommend: example products and every model's top neighbours, per dataset."""


rule examples:
    """A page of seeded example products and what every model recommends for them."""
    input:
        products="results/{dataset}/products.parquet",
        train="results/{dataset}/train_edges.parquet",
        val="results/{dataset}/val_pairs.parquet",
        neighbours=lambda wildcards: first_replicates(
            "neighbours.parquet", wildcards.dataset
        ),
    output:
        md="results/{dataset}/examples.md",
        html=report(
            "results/{dataset}/examples.html",
            caption="captions/examples.rst",
            category="{dataset}",
            subcategory="examples",
            labels={"dataset": "{dataset}", "page": "what the models recommend"},
        ),
    log:
        "results/{dataset}/logs/examples.log",
    conda:
        "../envs/evaluate.yaml"
    params:
        models=MODELS,
        seed=config["seed"],
    script:
        "../scripts/examples.py"
