"""Known input: which raw documents of a batch some earlier run already settled (the load marks
them ``unchanged``)."""

from __future__ import annotations


class KnownInput:
    """Which raw documents some earlier run already settled (rerun of known input), asked of a
    reading session on the corpus (None: no corpus yet). A retry of the same run id is not an
    earlier run: it settles its documents again, to the same outcomes.

    A query on the ledger costs about 27 ms however few ids it asks about, and the load of a big
    batch asks once a shard: the settled ids' first 64 bits (raw ids are SHA-256 hex) are read
    once into a sorted array, and the ledger is asked only about ids found there."""

    def __init__(self, con, run_id: str | None = None):
        self.con, self.run_id = con, run_id
        self.prefixes = None

    def __call__(self, raw_ids: list[str]) -> set[str]:
        if not raw_ids or self.con is None:
            return set()
        import numpy as np
        import pyarrow as pa

        if self.prefixes is None:
            column = self.con.execute(
                "SELECT DISTINCT TRY_CAST('0x' || left(raw_id, 16) AS UBIGINT) AS prefix FROM run_ledger "
                "WHERE outcome <> 'unchanged' AND run_id IS DISTINCT FROM $run_id", {"run_id": self.run_id}).to_arrow_table().column("prefix")
            self.prefixes = np.sort(column.drop_null().to_numpy())
        maybe = _maybe_settled(raw_ids, self.prefixes)
        if not maybe:
            return set()
        self.con.register("batch_ids", pa.table({"raw_id": maybe}))
        try:
            rows = self.con.execute(
                "SELECT DISTINCT l.raw_id FROM run_ledger l JOIN batch_ids b USING (raw_id) WHERE l.outcome <> 'unchanged' AND l.run_id IS DISTINCT FROM $run_id",
                {"run_id": self.run_id},
            ).fetchall()
        finally:
            self.con.unregister("batch_ids")
        return {r[0] for r in rows}


def _maybe_settled(raw_ids: list[str], prefixes) -> list[str]:
    """The ids whose first 64 bits are among ``prefixes`` (sorted), and any id that is not hex."""
    import numpy as np

    values, plain = [], []
    for raw_id in raw_ids:
        try:
            values.append(int(raw_id[:16], 16))
        except ValueError:
            plain.append(raw_id)  # not hex: only the ledger can say
            values.append(0)
    wanted = np.array(values, dtype=np.uint64)
    positions = np.minimum(np.searchsorted(prefixes, wanted), max(len(prefixes) - 1, 0))
    hit = prefixes[positions] == wanted if len(prefixes) else np.zeros(len(wanted), dtype=bool)
    return [r for r, h in zip(raw_ids, hit.tolist()) if h] + plain
