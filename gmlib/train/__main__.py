"""`python -m gmlib.train MODEL --data digits|idx:FOLDER [--epochs N] ...`: train a bench entry.

Trains any entry of `python -m gmlib.bench --list` on the digits or on MNIST-format IDX files
a learner has on disk, shows a progress bar, and writes `OUT/MODEL/checkpoint.pt` (weights,
settings, metrics; loads with `gmlib.train.load_checkpoint`) and `OUT/MODEL/metrics.json`
(the test NLL, bits per dimension and, on the digits, the sample metrics).

The same command runs on several processes with PyTorch's launcher,

    torchrun --standalone --nproc_per_node=4 -m gmlib.train pixelcnn --data idx:~/mnist

where every model trained by `gmlib.train.fit` is data-parallel (DistributedDataParallel,
gloo on CPU, nccl on GPU) and `--batch-size` is the global batch. Entries fitted in closed
form, by EM or by the GAN trainer run whole in every process: correct, but no faster.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch.distributed as dist

from gmlib.bench.core import context, entries, environment, evaluate_entry, fit_entry, get_entry
from gmlib.train.checkpoint import save_checkpoint
from gmlib.train.distributed import init_distributed, is_distributed, rank, world_size

__all__ = ["main", "parse_args"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m gmlib.train",
        description="Train one model of the course (a bench entry) and write its checkpoint "
                    "and test metrics. Under torchrun it trains data-parallel.")
    parser.add_argument("model", help="a bench entry, e.g. pixelcnn, vae-logistic-conv, "
                                      "realnvp, dcgan, ddpm (python -m gmlib.bench --list)")
    parser.add_argument("--data", default="digits",
                        help="'digits' (the course's 8x8 digits, default) or 'idx:FOLDER', a "
                             "folder with the MNIST or Fashion-MNIST IDX files; 'idx:' alone "
                             "reads $GMLIB_MNIST_DIR")
    parser.add_argument("--levels", type=int, default=None,
                        help="grey levels of IDX images (default 256; e.g. 17 to match the "
                             "digits)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="passes over the training set (default: the entry's budget)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="examples per step, the global batch under torchrun (default: "
                             "the entry's)")
    parser.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--amp", action="store_true",
                        help="mixed precision (float16 on CUDA, bfloat16 on CPU)")
    parser.add_argument("--out", default="runs", help="output folder (default: runs)")
    parser.add_argument("--no-quality", action="store_true",
                        help="skip the sample metrics (computed on the digits only)")
    args = parser.parse_args(argv)
    for name in ("epochs", "batch_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer; got {value}")
    # refuse an unusable output path now, not after the training it would lose
    folder = Path(args.out) / args.model
    for path in (Path(args.out), folder):
        if path.exists() and not path.is_dir():
            parser.error(f"--out: {str(path)!r} is a file; the run writes a folder there")
    return args


def _train(args: argparse.Namespace) -> dict[str, Any] | None:
    """Train in this process; rank 0 evaluates, writes the files and returns the metrics."""
    entry = get_entry(args.model)
    device = init_distributed(args.device)
    ctx = context(entry.track, device=device, seed=args.seed, data=args.data,
                  levels=args.levels, epochs=args.epochs, batch_size=args.batch_size,
                  amp=args.amp, progress=rank() == 0)
    model, seconds = fit_entry(entry, ctx)
    if rank() != 0:
        return None
    row = evaluate_entry(entry, model, ctx, seconds,
                         quality=args.data == "digits" and not args.no_quality)
    settings = {"model": args.model, "data": args.data, "levels": ctx.levels,
                "image_shape": list(ctx.shape), "epochs": args.epochs,
                "batch_size": args.batch_size, "seed": args.seed, "amp": args.amp,
                "processes": world_size()}
    metrics = {**row.as_dict(), "settings": settings, "environment": environment(device)}
    folder = Path(args.out) / args.model
    save_checkpoint(folder / "checkpoint.pt", model, hparams=settings,
                    extra={"metrics": metrics})
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.model not in entries():
        print(f"error: unknown model {args.model!r}; known: {', '.join(entries())}",
              file=sys.stderr)
        return 2
    try:
        metrics = _train(args)
    except (ValueError, OSError, EOFError) as err:  # bad data files (corrupt, truncated, gzip)
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        if is_distributed():
            dist.barrier()
            dist.destroy_process_group()
    if metrics is not None:
        nll, bpd = metrics["test_nll"], metrics["bits_per_dim"]
        scores = "no likelihood" if nll is None else f"test NLL {nll:.2f} nats ({bpd:.3f} bpd)"
        fdd = "" if metrics["fdd"] is None else f", FDD {metrics['fdd']:.1f}"
        print(f"{args.model}: {scores}{fdd}, trained in {metrics['train_seconds']:.1f} s; "
              f"wrote {Path(args.out) / args.model}/checkpoint.pt and metrics.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
