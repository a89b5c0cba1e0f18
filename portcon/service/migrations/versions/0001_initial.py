"""Initial schema: decisions, sizing history, outbox events, API keys and the seed's tables.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from portcon.service.migrations.frozen_types import Id, JSONType, Stamp

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create every table and index."""
    op.create_table(
        "decisions",
        sa.Column("id", Id, primary_key=True),
        sa.Column("decision_id", sa.String(100), nullable=False, unique=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("response", JSONType, nullable=False),
        sa.Column("processing_time_ms", sa.Float, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
    )
    op.create_table(
        "position_sizing_history",
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
    )
    op.create_index("idx_sizing_history_decision", "position_sizing_history", ["decision_id"])
    op.create_index(
        "idx_sizing_history_instrument_time",
        "position_sizing_history",
        ["instrument_id", sa.text("created_at DESC")],
    )
    op.create_table(
        "events",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("event_id", Id, nullable=False, unique=True),
        sa.Column("event_type", sa.String(50), nullable=False),
        sa.Column("decision_id", sa.String(100), nullable=False),
        sa.Column("payload", JSONType, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("revoked_at", Stamp),
    )
    _seed_tables()


def _seed_tables() -> None:
    op.create_table(
        "position_sizing_rules",
        sa.Column("id", Id, primary_key=True),
        sa.Column("rule_name", sa.String(100), nullable=False, unique=True),
        sa.Column("sizing_method", sa.String(50), nullable=False),
        sa.Column("risk_model", sa.String(50), nullable=False),
        sa.Column("parameters", JSONType, nullable=False),
        sa.Column("constraints", JSONType, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
    )
    op.create_index(
        "idx_sizing_rules_method", "position_sizing_rules", ["sizing_method", "enabled"]
    )
    op.create_table(
        "historical_performance",
        sa.Column("id", Id, primary_key=True),
        sa.Column("instrument_id", sa.String(200), nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("returns_data", JSONType, nullable=False),
        sa.Column("volatility", sa.Float, nullable=False),
        sa.Column("sharpe_ratio", sa.Float),
        sa.Column("max_drawdown", sa.Float),
        sa.Column("created_at", Stamp, nullable=False),
    )
    op.create_index(
        "idx_historical_performance_instrument",
        "historical_performance",
        ["instrument_id", sa.text("period_end DESC")],
    )
    op.create_table(
        "correlation_matrices",
        sa.Column("id", Id, primary_key=True),
        sa.Column("matrix_id", sa.String(100), nullable=False, unique=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("instruments", JSONType, nullable=False),
        sa.Column("correlation_data", JSONType, nullable=False),
        sa.Column("calculation_date", sa.Date, nullable=False),
        sa.Column("lookback_period", sa.Integer, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
    )
    op.create_index(
        "idx_correlation_matrices_date", "correlation_matrices", [sa.text("calculation_date DESC")]
    )


def downgrade() -> None:
    """Drop every table (children first)."""
    for table in (
        "correlation_matrices",
        "historical_performance",
        "position_sizing_rules",
        "api_keys",
        "events",
        "position_sizing_history",
        "decisions",
    ):
        op.drop_table(table)
