"""The migrated schema indexes every foreign key, and the refund sweep's query can use its partial index."""

from __future__ import annotations

from sqlalchemy import event, text

from common.db import db
from common.flows import payment_events

# Every foreign key whose columns are not, in some order, the leading columns of a plain
# (non-partial) index: a delete of the referenced row, or a filter on the key, reads the whole table.
UNINDEXED_FOREIGN_KEYS = text(
    """
    SELECT c.conrelid::regclass::text AS table_name, c.conname,
           array_agg(a.attname::text ORDER BY k.ord) AS columns
    FROM pg_constraint c
    JOIN pg_namespace n ON n.oid = c.connamespace AND n.nspname = current_schema()
    CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
    WHERE c.contype = 'f'
      AND NOT EXISTS (
        SELECT 1 FROM pg_index i
        WHERE i.indrelid = c.conrelid AND i.indpred IS NULL AND i.indisvalid
          -- indkey is 0-based: its first cardinality(conkey) entries hold the same columns as the key
          AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey
          AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey
      )
    GROUP BY 1, 2
    ORDER BY 1, 2
    """
)


def unindexed_foreign_keys() -> list[tuple[str, str, list[str]]]:
    return [tuple(row) for row in db.session.execute(UNINDEXED_FOREIGN_KEYS)]


def test_every_foreign_key_has_an_index_leading_with_it(app):
    assert unindexed_foreign_keys() == []


def test_the_check_finds_an_unindexed_foreign_key_and_accepts_each_kind_of_index(app):
    """The query above against tables made for the purpose: it can fail, and fails only when it should."""
    try:
        db.session.execute(text("CREATE TABLE fk_probe_parent (a int, b int, PRIMARY KEY (a, b))"))
        db.session.execute(
            text(
                "CREATE TABLE fk_probe (id int PRIMARY KEY, a int, b int, c int,"
                " CONSTRAINT fk_probe_ab FOREIGN KEY (a, b) REFERENCES fk_probe_parent,"
                " CONSTRAINT fk_probe_c FOREIGN KEY (c) REFERENCES users)"
            )
        )
        missing = {name: columns for _table, name, columns in unindexed_foreign_keys()}
        assert missing == {"fk_probe_ab": ["a", "b"], "fk_probe_c": ["c"]}
        # Neither an index that merely contains the key nor a partial one serves a cascading delete.
        db.session.execute(text("CREATE INDEX ix_probe_ac ON fk_probe (a, c)"))
        db.session.execute(text("CREATE INDEX ix_probe_b ON fk_probe (b)"))
        db.session.execute(text("CREATE INDEX ix_probe_c_partial ON fk_probe (c) WHERE c > 0"))
        assert {name for _t, name, _c in unindexed_foreign_keys()} == {"fk_probe_ab", "fk_probe_c"}
        # Leading columns in another order, and a longer index, do.
        db.session.execute(text("CREATE INDEX ix_probe_ba ON fk_probe (b, a, id)"))
        db.session.execute(text("CREATE INDEX ix_probe_c ON fk_probe (c, id)"))
        assert unindexed_foreign_keys() == []
    finally:
        db.session.rollback()


def test_refund_sweep_query_matches_its_partial_index(app):
    """The statement reconcile really sends for pending refunds can be answered from the partial index."""
    sent = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "refund_requested_at <" in statement:
            sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        payment_events.reconcile(older_than_seconds=0)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert len(sent) == 1
    statement, parameters = sent[0]
    with db.engine.connect() as conn:
        # With sequential scans priced out, the planner picks the index if its predicate is implied.
        conn.exec_driver_sql("SET enable_seqscan = off")
        plan = "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
    assert "ix_payments_refund_pending" in plan, plan
