"""``python main.py evaluate``: score precomputed Human3.6M predictions (3DMPPE output JSON or predictions.h5)."""

from __future__ import annotations

import argparse
import sys

from cli import command


@command("evaluate", help="score saved Human3.6M predictions (3DMPPE JSON or PoseArena predictions.h5)")
class EvaluateCommand:
    @staticmethod
    def configure(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--data", required=True, help="Human3.6M folder (annotations/ is enough)")
        parser.add_argument("--protocol", type=int, choices=(1, 2), required=True)
        parser.add_argument("--predictions", required=True,
                            help="3DMPPE output JSON (list of {image_id, joint_cam}) or predictions.h5")
        parser.add_argument("--out", required=True, help="output folder")
        parser.add_argument("--model", default=None,
                            help="registered model the predictions come from (for the published comparison)")
        parser.add_argument("--root", choices=("gt", "rootnet"), default=None,
                            help="which published row to compare with (default: inferred from the roots)")
        parser.add_argument("--overwrite", action="store_true",
                            help="replace the results already in --out (a benchmark run's or an earlier evaluation's)")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from engine.h36m.evaluate import OutputExistsError, PredictionsError, evaluate_file
        from engine.h36m.exports import summary_text
        from engine.h36m.layout import DatasetError

        try:
            run, _, notes = evaluate_file(args.data, args.protocol, args.predictions, args.out, model=args.model,
                                          root=args.root, overwrite=args.overwrite)
        except (DatasetError, PredictionsError, OutputExistsError, ValueError, OSError) as exc:  # a full --out too
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(summary_text([run]))
        for n in notes:
            print(f"note: {n}", file=sys.stderr)
        print(f"results: {args.out}", file=sys.stderr)
        return 0
