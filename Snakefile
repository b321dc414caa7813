"""Product embeddings from the Amazon product graph: dumps -> graph -> walks -> models -> report."""

import os
import sys
from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import min_version, validate

min_version("9.0")
# The library beside this Snakefile, for the config checks here and for the rule scripts:
# Snakemake appends a script's folder to sys.path, after site-packages, so without PYTHONPATH
# an installed prodembed (`pip install -e .` of another copy) would shadow this one in every job.
LIBRARY = str(Path(workflow.basedir) / "scripts")
sys.path.insert(0, LIBRARY)
os.environ.update(
    PYTHONPATH=os.pathsep.join(filter(None, [LIBRARY, os.getenv("PYTHONPATH")]))
)
from prodembed.config_check import coerce, problems, redefined


configfile: "config.yaml"


# Nested --config values arrive as strings; the schema says what they should be.
config.update(
    coerce(
        config, yaml.safe_load(Path(workflow.basedir, "config.schema.yaml").read_text())
    )
)
validate(config, "config.schema.yaml")
if problems(config):
    raise WorkflowError("invalid config:\n- " + "\n- ".join(problems(config)))
for warning in redefined(["config.yaml", *workflow.overwrite_configfiles]):
    logger.warning(warning)


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
