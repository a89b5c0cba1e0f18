"""The service's tables (SQLAlchemy Core): the seed's tables, the decisions, the outbox, keys.

The Alembic revisions in ``portcon/service/migrations`` create exactly these; a test compares
the migrated database against this metadata (SQLite and PostgreSQL). The column lists are
written twice on purpose: a revision is frozen history and must not import these live
definitions (a later edit here would change what it creates). What both can share without
that risk — the column types — lives in the frozen ``migrations/frozen_types.py``.
"""

from __future__ import annotations

import sqlalchemy as sa

from portcon.service.migrations.frozen_types import Id, JSONType, Stamp

metadata = sa.MetaData()

decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("decision_id", sa.String(100), nullable=False, unique=True),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("response", JSONType, nullable=False),
    sa.Column("processing_time_ms", sa.Float, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
)

position_sizing_history = sa.Table(
    "position_sizing_history",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("position_id", sa.String(100), nullable=False, unique=True),
    sa.Column(
        "decision_id", sa.String(100), sa.ForeignKey("decisions.decision_id"), nullable=False
    ),
    sa.Column("instrument_id", sa.String(200), nullable=False),
    sa.Column("recommended_size", sa.Numeric(20, 2, asdecimal=False)),
    sa.Column("recommended_weight", sa.Float, nullable=False),
    sa.Column("sizing_method", sa.String(50), nullable=False),
    sa.Column("kelly_fraction", sa.Float),
    sa.Column("confidence_score", sa.Float),
    sa.Column("binding", sa.String(200)),
    sa.Column("reason", sa.Text),
    sa.Column("explanation", JSONType, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Index("idx_sizing_history_decision", "decision_id"),
    sa.Index("idx_sizing_history_instrument_time", "instrument_id", sa.text("created_at DESC")),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("event_id", Id, nullable=False, unique=True),
    sa.Column("event_type", sa.String(50), nullable=False),
    sa.Column("decision_id", sa.String(100), nullable=False),
    sa.Column("payload", JSONType, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("revoked_at", Stamp),
)

position_sizing_rules = sa.Table(
    "position_sizing_rules",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("rule_name", sa.String(100), nullable=False, unique=True),
    sa.Column("sizing_method", sa.String(50), nullable=False),
    sa.Column("risk_model", sa.String(50), nullable=False),
    sa.Column("parameters", JSONType, nullable=False),
    sa.Column("constraints", JSONType, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
    sa.Index("idx_sizing_rules_method", "sizing_method", "enabled"),
)

historical_performance = sa.Table(
    "historical_performance",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("instrument_id", sa.String(200), nullable=False),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("period_end", sa.Date, nullable=False),
    sa.Column("returns_data", JSONType, nullable=False),
    sa.Column("volatility", sa.Float, nullable=False),
    sa.Column("sharpe_ratio", sa.Float),
    sa.Column("max_drawdown", sa.Float),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Index("idx_historical_performance_instrument", "instrument_id", sa.text("period_end DESC")),
)

correlation_matrices = sa.Table(
    "correlation_matrices",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("matrix_id", sa.String(100), nullable=False, unique=True),
    sa.Column("kind", sa.String(20), nullable=False),  # covariance or correlation
    sa.Column("instruments", JSONType, nullable=False),
    sa.Column("correlation_data", JSONType, nullable=False),
    sa.Column("calculation_date", sa.Date, nullable=False),
    sa.Column("lookback_period", sa.Integer, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Index("idx_correlation_matrices_date", sa.text("calculation_date DESC")),
)
