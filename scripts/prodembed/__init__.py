"""Product embeddings from the Amazon product graph: the library behind the workflow's rules.

Rule scripts under ``scripts/`` stay thin and call into these modules, so every step can be
imported, unit-tested and run outside Snakemake.
"""
