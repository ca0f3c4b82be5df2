"""What changed between the last two scoring runs: new and gone products, price and rank moves."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from reports import values


@dataclass(frozen=True, kw_only=True)
class Change:
    """One product's change; ``before``/``after`` are None where it did not exist."""

    product_id: str
    name: str
    subcategory: str | None
    rank_before: int | None
    rank_after: int | None
    price_before: Decimal | None
    price_after: Decimal | None
    currency: str | None


@dataclass(frozen=True, kw_only=True)
class Changes:
    run_before: int | None
    run_after: int | None
    new: tuple[Change, ...] = ()
    gone: tuple[Change, ...] = ()
    price_moves: tuple[Change, ...] = ()
    rank_moves: tuple[Change, ...] = ()

    @property
    def any(self) -> bool:
        return bool(self.new or self.gone or self.price_moves or self.rank_moves)


def _runs(snapshots: pd.DataFrame) -> list[int]:
    return sorted({int(r) for r in snapshots["run_id"].dropna()})


def _change(before: dict | None, after: dict | None) -> Change:
    row = after or before or {}
    return Change(
        product_id=str(row["product_id"]),
        name=values.text(row.get("name")) or str(row["product_id"]),
        subcategory=values.text(row.get("subcategory")),
        rank_before=values.integer(before.get("rank")) if before else None,
        rank_after=values.integer(after.get("rank")) if after else None,
        price_before=values.decimal(before.get("best_price")) if before else None,
        price_after=values.decimal(after.get("best_price")) if after else None,
        currency=values.text(row.get("currency")),
    )


def changes_between_runs(snapshots: pd.DataFrame | None) -> Changes:
    """Compare the last two runs in ``product_snapshots``; empty when fewer than two exist."""
    if snapshots is None or snapshots.empty or "run_id" not in snapshots:
        return Changes(run_before=None, run_after=None)
    runs = _runs(snapshots)
    if len(runs) < 2:
        return Changes(run_before=None, run_after=runs[-1] if runs else None)
    run_before, run_after = runs[-2], runs[-1]
    by_run = {
        run: {
            str(r["product_id"]): r
            for r in snapshots[snapshots["run_id"] == run].to_dict("records")
        }
        for run in (run_before, run_after)
    }
    before, after = by_run[run_before], by_run[run_after]
    new = [_change(None, after[p]) for p in sorted(set(after) - set(before))]
    gone = [_change(before[p], None) for p in sorted(set(before) - set(after))]
    both = [_change(before[p], after[p]) for p in sorted(set(before) & set(after))]
    price_moves = [
        c
        for c in both
        if c.price_before is not None
        and c.price_after is not None
        and c.price_before != c.price_after
    ]
    rank_moves = [
        c
        for c in both
        if c.rank_before is not None and c.rank_after is not None and c.rank_before != c.rank_after
    ]
    price_moves.sort(key=lambda c: (c.price_after - c.price_before, c.name))  # type: ignore[operator]
    rank_moves.sort(key=lambda c: (c.rank_after - c.rank_before, c.name))  # type: ignore[operator]
    return Changes(
        run_before=run_before,
        run_after=run_after,
        new=tuple(new),
        gone=tuple(gone),
        price_moves=tuple(price_moves),
        rank_moves=tuple(rank_moves),
    )
