"""Rule train_gensim: gensim Word2Vec on the first-order walks (CPU, all the rule's threads)."""

from prodembed.gensim_w2v import train_gensim
from prodembed.runtime import setup_logging
from prodembed.training import TrainingRun, load_walks, node_asins

log = setup_logging(snakemake.log[0])
run = TrainingRun(snakemake)
asins = node_asins(snakemake.input.nodes)
p = run.params
emb, has_vector, info = train_gensim(
    load_walks(snakemake.input.walks, len(asins)),
    len(asins),
    dim=p["dim"],
    window=p["window"],
    negatives=p["negatives"],
    epochs=p["epochs"],
    **p["gensim"],
    seed=run.seed,
    workers=run.threads,
    curve=run.curve,
)
run.save(emb, asins, "cosine", has_vector=has_vector, **info)
