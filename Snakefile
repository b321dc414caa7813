"""Product embeddings from the Amazon product graph: dumps -> graph -> walks -> models -> report."""

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config.yaml"


validate(config, "config.schema.yaml")


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/graph.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/report.smk"
include: "rules/examples.smk"


rule all:
    default_target: True
    input:
        "results/report.md",
        "results/report.csv",
        all_neighbours(),
        expand("results/{dataset}/examples.md", dataset=DATASETS),
