"""The dataset x model matrix beside the study's published numbers (docs/DESIGN.md, Data flow, stage 9)."""


rule report:
    input:
        metrics=all_replicates("metrics.json"),
        pairs=all_replicates("scores.parquet"),
        queries=all_replicates("queries.parquet"),
        curves=first_replicates("curves.parquet"),
        indexes=first_replicates("neighbours.json"),
    output:
        md="results/report.md",
        csv="results/report.csv",
        plots=report(
            directory("results/report_plots"),
            patterns=["{name}.png"],
            caption="captions/comparison.rst",
            category="Comparison",
        ),
    log:
        "results/logs/report.log",
    conda:
        "../envs/evaluate.yaml"
    params:
        datasets={name: config["datasets"][name] for name in DATASETS},
        models=MODELS,
        k=config["evaluate"]["k"],
    script:
        "../scripts/report.py"
