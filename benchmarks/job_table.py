"""Print a Markdown table of one dataset's per-job wall time, CPU time and peak RSS.

Reads the Snakemake benchmark files a run left in results/<dataset>/benchmarks/ and lists
the jobs in the order they finished, so the table reads as the run went:

    python benchmarks/job_table.py results/electronics_full
"""

import argparse
from pathlib import Path

import pandas as pd


def job_table(folder: Path) -> pd.DataFrame:
    files = sorted((folder / "benchmarks").glob("*.tsv"), key=lambda p: p.stat().st_mtime)
    if not files:
        raise SystemExit(f"no benchmark files in {folder / 'benchmarks'}")
    rows = []
    for path in files:
        run = pd.read_csv(path, sep="\t").iloc[-1]
        rows.append(
            {
                "job": path.stem,
                "wall s": float(run["s"]),
                "CPU s": float(run["cpu_time"]),
                "peak RSS MiB": float(run["max_rss"]),
            }
        )
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    lines = ["| job | wall s | CPU s | peak RSS MiB |", "|---|---:|---:|---:|"]
    for row in table.itertuples(index=False):
        lines.append(f"| {row[0]} | {row[1]:,.1f} | {row[2]:,.1f} | {row[3]:,.0f} |")
    lines.append(
        f"| **sum over jobs** | {table['wall s'].sum():,.1f} | {table['CPU s'].sum():,.1f} "
        f"| max {table['peak RSS MiB'].max():,.0f} |"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset_folder", type=Path, help="e.g. results/electronics_full")
    print(markdown(job_table(parser.parse_args().dataset_folder)))
