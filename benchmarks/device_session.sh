#!/usr/bin/env bash
# The GPU checks and timings, prepared for a lent GPU machine (about 15 minutes of device time
# in all, machine start included), so that a session spends it running rather than writing.
#
#   benchmarks/device_session.sh fetch        # here, with pip access: wheels into .whl/
#   benchmarks/device_session.sh run [PARTS]  # there, in the repo root; PARTS default "checks bench"
#
# The machine's image has Python 3.12 with torch, numba, numpy, pandas, pyarrow, scipy,
# scikit-learn and pytest, but no network: `fetch` downloads the project's other pins
# (requirements.txt) that the image lacks as cp312 manylinux wheels into .whl/ (git-ignored
# locally via .git/info/exclude; carry it: `carry: [".whl"]`, about 55 MB of the 64 MiB a
# call may carry). `run` installs them into /tmp/site and runs the parts in order, writing
# every log under $OUT (the device tool's output folder; benchmarks/out/device elsewhere):
#
#   checks  the CUDA variants of the test suite (`pytest -k cuda`): walks follow edges and
#           match exact first- and second-order probabilities, the pair engine's exact pair
#           sets and negative distribution, each trainer's seen-only AUC against the CPU
#           kernel's, ranking and neighbour lists against brute force. ~1 minute.
#   bench   benchmarks/run_all.py --scale electronics --gpu: walks (numba on all cores vs
#           torch CUDA), skip-gram (gensim on all cores vs ours on CUDA, same walks), MF
#           epochs on CUDA; starts nothing after 300 s.
#   e2e     the Electronics-sized matrix end to end (benchmarks/electronics_scale.yaml, all
#           models) with one GPU; per-job times in results/electronics_full/benchmarks/.
#
# Suggested calls: `run checks bench` with timeout_s 540, then (if device time is left)
# `run e2e` with timeout_s 540; give the machine back; record the card and numbers in
# benchmarks/RESULTS.md.
set -uo pipefail
cd "$(dirname "$0")/.."

fetch() {
    grep -qxF '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >>.git/info/exclude
    rm -rf .whl && mkdir -p .whl/all
    pins=$(grep -E '^(snakemake|gensim|orjson|faiss-cpu)==' requirements.txt)
    # connection_pool (a snakemake dependency) is published as a source archive only.
    python3 -m pip wheel -q --no-deps -w .whl/all "connection_pool==0.0.3" || return 1
    python3 -m pip download -q --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any \
        -f .whl/all -d .whl/all $pins || return 1
    # Keep what the GPU image lacks (the lender lists its preinstalled packages); pulp (16
    # MB) only serves snakemake's ilp scheduler, and e2e runs the greedy one.
    local skip=" numpy scipy pyyaml psutil wrapt requests urllib3 certifi charset_normalizer idna
        jinja2 markupsafe packaging platformdirs attrs tabulate typing_extensions pulp "
    for whl in .whl/all/*.whl; do
        name=$(basename "$whl" | cut -d- -f1 | tr 'A-Z-.' 'a-z__')
        [[ ${skip//$'\n'/ } == *" $name "* ]] || mv "$whl" .whl/
    done
    rm -rf .whl/all
    du -sh .whl && ls .whl
}

run() {
    local out=${OUT:-benchmarks/out/device} parts=("$@") status=0
    [[ ${#parts[@]} -gt 0 ]] || parts=(checks bench)
    mkdir -p "$out"
    export PYTHONUNBUFFERED=1
    # The library from the working tree (requirements.txt's `pip install -e .` needs a build
    # backend the image may lack, and there is no index to fetch one).
    export PYTHONPATH=$PWD/scripts
    if compgen -G ".whl/*.whl" >/dev/null; then
        python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target /tmp/site .whl/*.whl || return 1
        export PYTHONPATH=/tmp/site:$PYTHONPATH
    fi
    {
        nvidia-smi
        python3 -c 'import sys, torch, numba, numpy; print(sys.version); print("torch", torch.__version__, "numba", numba.__version__, "numpy", numpy.__version__); print(torch.cuda.get_device_name())'
        nproc
    } >"$out/machine.txt" 2>&1
    cat "$out/machine.txt"
    for part in "${parts[@]}"; do
        case $part in
        checks)
            python3 -m pytest -q -rs -p no:cacheprovider -k cuda tests/test_walks.py \
                tests/test_pairs.py tests/test_skipgram.py tests/test_mf.py tests/test_eges.py \
                tests/test_neighbours.py tests/test_evaluate.py 2>&1 | tee "$out/checks.txt" ||
                status=1
            ;;
        bench)
            python3 benchmarks/run_all.py --scale electronics --gpu --deadline 300 \
                --out "$out/bench" || status=1
            ;;
        e2e)
            local t0=$SECONDS targets
            targets=$(python3 -c 'import yaml
for m in yaml.safe_load(open("config.yaml"))["models"]:
    print(f"results/electronics_full/models/{m}/rep0/metrics.json")
    print(f"results/electronics_full/models/{m}/rep0/neighbours.parquet")')
            # shellcheck disable=SC2086 # one target per word
            python3 -m snakemake --cores all --resources gpu=1 --scheduler greedy \
                --configfile config.yaml benchmarks/electronics_scale.yaml -- $targets 2>&1 |
                tail -n 200 >"$out/e2e.txt" || status=1
            echo "e2e: $((SECONDS - t0)) s wall" | tee -a "$out/e2e.txt"
            tail -n +1 results/electronics_full/benchmarks/*.tsv >"$out/e2e_jobs.txt" 2>&1
            ;;
        *)
            echo "unknown part: $part (expected checks, bench, e2e)" >&2
            return 2
            ;;
        esac
    done
    return $status
}

case ${1:-} in
fetch) fetch ;;
run) shift && run "$@" ;;
*)
    sed -n '2,27p' "$0"
    exit 2
    ;;
esac
