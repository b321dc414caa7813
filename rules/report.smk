"""The dataset x model matrix beside the study's published numbers (DESIGN.md section 3, step 8)."""


rule report:
    input:
        all_metrics(),
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
        datasets=config["datasets"],
        models=MODELS,
        k=config["evaluate"]["k"],
    script:
        "../scripts/report.py"
